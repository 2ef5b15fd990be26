#!/usr/bin/env bash
# pg-test.sh makes a throwaway PostgreSQL server available to tests.
#
#   scripts/pg-test.sh run -- go test ./...   start, run the command with
#                                             DMFLOW_TEST_POSTGRES set, stop,
#                                             exit with the command's status
#   eval "$(scripts/pg-test.sh start)"        start; print export lines for
#                                             DMFLOW_TEST_POSTGRES and
#                                             DMFLOW_TEST_POSTGRES_DIR
#   source scripts/pg-test.sh start           the same, exporting directly
#   scripts/pg-test.sh stop <dir>             stop that server, delete <dir>
#
# When DMFLOW_TEST_POSTGRES is already set, that server is used and nothing
# is started. Otherwise the PostgreSQL server binaries are taken from PATH or
# /usr/lib/postgresql/*/bin, installed with apt-get (Debian's postgresql)
# when missing and running as root. The server runs as a non-root user
# (postgres refuses root), from a mktemp directory, listening only on
# 127.0.0.1 on a free port, with its unix socket inside that directory,
# trust authentication, and a database named dmflow_test.
# DMFLOW_TEST_POSTGRES_OPTIONS adds server options (postgres -c ...), e.g.
# "-c shared_preload_libraries=pg_stat_statements" to profile statements.

pgt_log() { echo "pg-test: $*" >&2; }

# pgt_bindir prints the directory holding initdb, pg_ctl and postgres.
pgt_bindir() {
	local d
	if command -v pg_ctl >/dev/null 2>&1 && command -v initdb >/dev/null 2>&1 && command -v postgres >/dev/null 2>&1; then
		d=$(dirname "$(readlink -f "$(command -v pg_ctl)")")
		[ -x "$d/initdb" ] && [ -x "$d/postgres" ] && { echo "$d"; return 0; }
	fi
	d=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
	[ -n "$d" ] && [ -x "$d/pg_ctl" ] && [ -x "$d/initdb" ] && [ -x "$d/postgres" ] && { echo "$d"; return 0; }
	return 1
}

# pgt_install installs Debian's postgresql package (root only).
pgt_install() {
	if [ "$(id -u)" != 0 ]; then
		pgt_log "PostgreSQL server binaries not found; install postgresql or set DMFLOW_TEST_POSTGRES"
		return 1
	fi
	pgt_log "installing postgresql with apt-get"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update >&2 && apt-get install -y --no-install-recommends postgresql >&2
}

# pgt_user prints the user the server runs as, creating one if needed.
pgt_user() {
	if [ "$(id -u)" != 0 ]; then
		id -un
		return 0
	fi
	if ! id postgres >/dev/null 2>&1; then
		useradd --system --no-create-home --shell /usr/sbin/nologin postgres >&2 || return 1
	fi
	echo postgres
}

# pgt_as runs a command as the server user.
pgt_as() {
	local user=$1
	shift
	if [ "$(id -u)" = 0 ]; then
		(cd / && runuser -u "$user" -- "$@")
	else
		"$@"
	fi
}

# pgt_port prints a TCP port on 127.0.0.1 that nothing listens on.
pgt_port() {
	local port i
	for i in $(seq 1 50); do
		port=$((20000 + RANDOM % 40000))
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
			echo "$port"
			return 0
		fi
	done
	return 1
}

# pgt_start starts a server and sets PGT_URL and PGT_DIR.
pgt_start() {
	local bin user dir port try
	bin=$(pgt_bindir) || { pgt_install && bin=$(pgt_bindir); } || { pgt_log "no PostgreSQL server binaries"; return 1; }
	user=$(pgt_user) || return 1
	dir=$(mktemp -d "${TMPDIR:-/tmp}/dmflow-pg.XXXXXX") || return 1
	mkdir -p "$dir/sock" && chown -R "$user" "$dir" 2>/dev/null
	chmod 755 "$dir"
	pgt_as "$user" "$bin/initdb" -D "$dir/data" -U dmflow --auth=trust -E UTF8 --locale=C >"$dir/initdb.log" 2>&1 ||
		{ pgt_log "initdb failed:"; cat "$dir/initdb.log" >&2; rm -rf "$dir"; return 1; }
	for try in 1 2 3 4 5; do
		port=$(pgt_port) || break
		if pgt_as "$user" "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
			-o "-c listen_addresses=127.0.0.1 -p $port -k $dir/sock -c max_connections=300 ${DMFLOW_TEST_POSTGRES_OPTIONS:-}" start >&2; then
			PGT_URL="postgres://dmflow@127.0.0.1:$port/dmflow_test?sslmode=disable"
			PGT_DIR=$dir
			pgt_as "$user" "$bin/psql" -X -q -h 127.0.0.1 -p "$port" -U dmflow -d postgres \
				-c "CREATE DATABASE dmflow_test" >&2 || { pgt_stop "$dir"; return 1; }
			echo "$bin" >"$dir/bindir"
			echo "$user" >"$dir/user"
			pgt_log "PostgreSQL $("$bin/postgres" -V | awk '{print $3}') on 127.0.0.1:$port (data in $dir)"
			return 0
		fi
		pgt_log "start on port $port failed (try $try):"
		tail -n 5 "$dir/server.log" >&2
	done
	rm -rf "$dir"
	return 1
}

# pgt_stop stops the server of dir and deletes dir.
pgt_stop() {
	local dir=$1
	[ -n "$dir" ] && [ -d "$dir/data" ] || { pgt_log "stop: $dir is not a pg-test directory"; return 1; }
	local bin user
	bin=$(cat "$dir/bindir" 2>/dev/null || pgt_bindir)
	user=$(cat "$dir/user" 2>/dev/null || pgt_user)
	pgt_as "$user" "$bin/pg_ctl" -D "$dir/data" -m fast -w -t 60 stop >&2 ||
		pgt_log "stop: pg_ctl stop failed"
	rm -rf "$dir"
}

# pgt_run starts a server (unless DMFLOW_TEST_POSTGRES is set), runs the
# command, stops the server and returns the command's status.
pgt_run() {
	[ "$1" = "--" ] && shift
	[ $# -gt 0 ] || { pgt_log "usage: pg-test.sh run -- command [args...]"; return 2; }
	if [ -n "${DMFLOW_TEST_POSTGRES:-}" ]; then
		"$@"
		return $?
	fi
	pgt_start || return 1
	trap 'pgt_stop "$PGT_DIR"; exit 130' INT TERM
	local rc=0
	DMFLOW_TEST_POSTGRES=$PGT_URL "$@" || rc=$?
	trap - INT TERM
	pgt_stop "$PGT_DIR"
	return $rc
}

pgt_main() {
	local cmd=${1:-}
	shift || true
	case $cmd in
	run) pgt_run "$@" ;;
	start)
		if [ -n "${DMFLOW_TEST_POSTGRES:-}" ]; then
			PGT_URL=$DMFLOW_TEST_POSTGRES PGT_DIR=
		else
			pgt_start || return 1
		fi
		if [ "${BASH_SOURCE[0]}" != "$0" ]; then
			export DMFLOW_TEST_POSTGRES=$PGT_URL DMFLOW_TEST_POSTGRES_DIR=$PGT_DIR
		else
			printf 'export DMFLOW_TEST_POSTGRES=%q\nexport DMFLOW_TEST_POSTGRES_DIR=%q\n' "$PGT_URL" "$PGT_DIR"
		fi
		;;
	stop) pgt_stop "${1:-${DMFLOW_TEST_POSTGRES_DIR:-}}" ;;
	*)
		pgt_log "usage: pg-test.sh run -- command... | start | stop <dir>"
		return 2
		;;
	esac
}

if [ "${BASH_SOURCE[0]}" != "$0" ]; then
	pgt_main "$@"
else
	set -u
	pgt_main "$@"
	exit $?
fi
