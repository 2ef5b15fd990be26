#!/usr/bin/env bash
# Runs every dmflow test: vet, the race-enabled unit/integration/e2e suites
# (PostgreSQL and headless Chromium are provisioned on 127.0.0.1 when missing),
# short fuzzing of every fuzz target, and the example flows' transcript tests.
#
#   scripts/test.sh            # what CI runs (.ci/run)
#   FUZZTIME=1m scripts/test.sh
#   DMFLOW_LONG=1 scripts/test.sh   # also the long soak/load variants
set -euo pipefail
cd "$(dirname "$0")/.."

FUZZTIME=${FUZZTIME:-8s}
log() { printf '\n== %s\n' "$*"; }

log "go vet"
go vet ./...

log "gofmt"
unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))
if [ -n "$unformatted" ]; then echo "gofmt needed:"; echo "$unformatted"; exit 1; fi

# Headless Chromium for the sandbox studio's browser tests (Debian package).
. scripts/lib/chromium.sh
dmflow_find_chromium

log "building dmflow"
mkdir -p bin
go build -o bin/dmflow ./cmd/dmflow
export DMFLOW_BIN=$PWD/bin/dmflow

log "example flows"
bin/dmflow validate --strict examples/
bin/dmflow test examples/

log "go test -race (PostgreSQL on 127.0.0.1 via scripts/pg-test.sh)"
scripts/pg-test.sh run -- go test -race -count=1 -timeout 20m ./...

log "fuzzing each target for $FUZZTIME"
for pkg in $(go list ./...); do
  dir=$(go list -f '{{.Dir}}' "$pkg")
  for fz in $(grep -ho '^func Fuzz[A-Za-z0-9_]*' "$dir"/*_test.go 2>/dev/null | sed 's/func //' | sort -u); do
    echo "-- $pkg $fz"
    out=$(mktemp)
    if ! go test -run='^$' -fuzz="^${fz}\$" -fuzztime="$FUZZTIME" "$pkg" >"$out" 2>&1; then
      cat "$out"; rm -f "$out"
      echo "fuzz target $fz of $pkg failed; a failing input is saved under testdata/fuzz/$fz (commit it as a regression case)"
      exit 1
    fi
    tail -2 "$out"; rm -f "$out"
  done
done

log "all tests passed"
