#!/usr/bin/env bash
# The project's test command (README): vet, then every test with the race
# detector, then a short smoke run of each fuzz target.
set -euo pipefail
cd "$(dirname "$0")"
go vet ./...
go test -race -count=1 -timeout 25m ./...
fuzz_secs=${FUZZ_SECONDS:-3}
if [ "$fuzz_secs" != 0 ]; then
  for pkg in $(go list ./...); do
    dir=$(go list -f '{{.Dir}}' "$pkg")
    for target in $(grep -ho '^func Fuzz[A-Za-z0-9_]*' "$dir"/*_test.go 2>/dev/null | sed 's/^func //'); do
      echo "fuzz $pkg $target (${fuzz_secs}s)"
      go test -run '^$' -fuzz "^${target}\$" -fuzztime "${fuzz_secs}s" "$pkg" >/tmp/fuzz.$$.log 2>&1 || { cat /tmp/fuzz.$$.log; exit 1; }
      grep -Eo 'execs: [0-9]+' /tmp/fuzz.$$.log | tail -1 || true
    done
  done
  rm -f /tmp/fuzz.$$.log
fi
