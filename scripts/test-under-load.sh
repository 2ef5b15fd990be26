#!/usr/bin/env bash
# Runs the test suite on a deliberately busy machine: two CPU busy loops at
# normal priority (one per core of a 2-core box) run for the whole duration,
# while the full race-enabled suite runs RUNS times in a row (with a
# throwaway PostgreSQL on 127.0.0.1 and headless Chromium, as scripts/test.sh
# sets them up), then the packages that own timers, leases and retries run
# three more times each (go test -count=3 -race). It proves that no test
# depends on how fast the machine is today. Not part of CI (.ci/run); see
# docs/testing.md ("The suite under load").
#
#   scripts/test-under-load.sh              # 3 full runs, 2 busy loops
#   scripts/test-under-load.sh -n 1         # one full run
#   scripts/test-under-load.sh --hogs 4     # four busy loops
#   DMFLOW_LOAD_RUNS=5 DMFLOW_LOAD_HOGS=2 scripts/test-under-load.sh
#
# DMFLOW_TEST_TIMEOUT_SCALE (default 1) multiplies the tests' deadlines
# (internal/testutil); it is passed through unchanged.
set -euo pipefail
cd "$(dirname "$0")/.."

RUNS=${DMFLOW_LOAD_RUNS:-3}
HOGS=${DMFLOW_LOAD_HOGS:-2}
usage() { sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'; }
while [ $# -gt 0 ]; do
	case $1 in
	-n | --runs) RUNS=${2:?}; shift 2 ;;
	--hogs) HOGS=${2:?}; shift 2 ;;
	-h | --help) usage; exit 0 ;;
	*) echo "test-under-load: unknown argument $1" >&2; usage >&2; exit 2 ;;
	esac
done
case $RUNS$HOGS in *[!0-9]*) echo "test-under-load: --runs and --hogs take numbers" >&2; exit 2 ;; esac

# The packages whose tests own timers, leases and retries: run -count=3.
TIMER_PKGS=(./bot ./bot/actions ./store/... ./internal/e2e)

log() { printf '\n== %s\n' "$*"; }
loadavg() { cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || uptime | sed 's/.*load average[s]*: //'; }

hogs=()
pg_dir=
cleanup() {
	local p
	for p in "${hogs[@]}"; do kill "$p" 2>/dev/null || true; done
	if [ -n "$pg_dir" ]; then scripts/pg-test.sh stop "$pg_dir" || true; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

. scripts/lib/chromium.sh
dmflow_find_chromium
[ -n "$DMFLOW_CHROMIUM" ] || echo "test-under-load: no Chromium; the browser tests will skip" >&2

log "building dmflow"
mkdir -p bin
go build -o bin/dmflow ./cmd/dmflow
export DMFLOW_BIN=$PWD/bin/dmflow

log "PostgreSQL on 127.0.0.1 (scripts/pg-test.sh)"
eval "$(scripts/pg-test.sh start)"
pg_dir=${DMFLOW_TEST_POSTGRES_DIR:-}

log "starting $HOGS CPU busy loops (load average before: $(loadavg))"
for _ in $(seq 1 "$HOGS"); do
	sh -c 'while :; do :; done' &
	hogs+=($!)
done

results=()
failed=0
step() { # step NAME COMMAND...: runs it, records the wall time and the result
	local name=$1 start end rc=0
	shift
	log "$name: $*"
	start=$(date +%s)
	"$@" || rc=$?
	end=$(date +%s)
	local res=PASS
	[ "$rc" = 0 ] || { res="FAIL (exit $rc)"; failed=$((failed + 1)); }
	results+=("$(printf '%-28s %6ss  load %s  %s' "$name" "$((end - start))" "$(loadavg)" "$res")")
	printf -- '-- %s: %s in %ss (load average %s)\n' "$name" "$res" "$((end - start))" "$(loadavg)"
}

for i in $(seq 1 "$RUNS"); do
	step "full suite run $i/$RUNS" go test -race -count=1 -timeout 30m ./...
done
step "timers/leases/retries x3" go test -race -count=3 -timeout 30m "${TIMER_PKGS[@]}"

log "summary ($(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc 2>/dev/null || echo '?') cores, $HOGS busy loops)"
printf '%s\n' "${results[@]}"
if [ "$failed" = 0 ]; then
	echo "test-under-load: PASS ($RUNS full runs and the timer packages x3, $HOGS busy loops)"
else
	echo "test-under-load: FAIL ($failed of $((RUNS + 1)) steps failed)"
	exit 1
fi
