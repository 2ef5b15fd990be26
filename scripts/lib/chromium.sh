# shellcheck shell=bash
# Sourced by scripts/test.sh and scripts/test-under-load.sh: finds headless
# Chromium for the sandbox studio's browser tests (sandbox/browsertest) and
# exports its path as DMFLOW_CHROMIUM. An already set DMFLOW_CHROMIUM wins;
# otherwise chromium, chromium-browser or google-chrome from PATH; otherwise,
# when running as root with apt-get, Debian's chromium package is installed.
# Without any, DMFLOW_CHROMIUM stays empty and the browser tests skip (or
# fail under CI).
dmflow_find_chromium() {
	local c
	if [ -z "${DMFLOW_CHROMIUM:-}" ]; then
		for c in chromium chromium-browser google-chrome; do
			if command -v "$c" >/dev/null 2>&1; then
				DMFLOW_CHROMIUM=$(command -v "$c")
				break
			fi
		done
	fi
	if [ -z "${DMFLOW_CHROMIUM:-}" ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
		printf '\n== %s\n' "installing chromium from Debian packages"
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
		DMFLOW_CHROMIUM=$(command -v chromium)
	fi
	export DMFLOW_CHROMIUM=${DMFLOW_CHROMIUM:-}
}
