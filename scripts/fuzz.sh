#!/usr/bin/env bash
# Runs every Go fuzz target of the module, one after another, each for FUZZTIME (default 60s)
# with FUZZPARALLEL workers (default 1, so the run stays polite on a shared machine) and
# FUZZMINIMIZETIME (default 100x: at most 100 runs per minimization, see below). Targets are
# discovered with `go test -list '^Fuzz'` in each package that declares one, so a new target is
# picked up without editing this file. FUZZMATCH (a regexp, default all) picks targets by name.
#
# A crasher is written by go test to the package's testdata/fuzz/<Target>/ directory: fix the
# code, keep the file (it becomes a regression input that `go test ./...` runs), commit both.
# Prints one line per target and exits non-zero if any target failed.
set -uo pipefail
cd "$(dirname "$0")/.."

fuzztime=${FUZZTIME:-60s}
# Each new interesting input is minimized for up to -fuzzminimizetime (go test's default: 60s),
# during which nothing else is fuzzed: with inputs of a few KiB (a gzip stream, an envelope) one
# minimization could take the whole FUZZTIME (FuzzGzipRoundTrip: 9 runs in 60 s). 100x bounds it
# by runs instead; 0 turns minimization off. Crashers are minimized under the same bound.
minimize=${FUZZMINIMIZETIME:-100x}
parallel=${FUZZPARALLEL:-1}
match=${FUZZMATCH:-.}
go=${GO:-go}

# Packages with a fuzz target: a cheap grep first, so only those test binaries are built to list.
# Files not committed yet count too (a target being written), ignored ones do not.
mapfile -t dirs < <(git ls-files --cached --others --exclude-standard '*_test.go' |
  xargs grep -l '^func Fuzz[A-Z0-9_]' | xargs -n1 dirname | sort -u)
if [ ${#dirs[@]} -eq 0 ]; then
  echo "no fuzz targets found" >&2
  exit 1
fi

failed=()
summary=()
for dir in "${dirs[@]}"; do
  pkg=./$dir
  mapfile -t targets < <($go test -list '^Fuzz' "$pkg" | grep '^Fuzz' | grep -E -- "$match")
  for target in "${targets[@]}"; do
    echo "== $pkg $target (fuzztime $fuzztime, minimize $minimize, parallel $parallel)"
    log=$(mktemp)
    start=$SECONDS
    $go test -run '^$' -fuzz "^${target}\$" -fuzztime "$fuzztime" -fuzzminimizetime "$minimize" -parallel "$parallel" "$pkg" 2>&1 | tee "$log"
    rc=${PIPESTATUS[0]}
    # The last progress line: "fuzz: elapsed: 1m0s, execs: 123456 (2057/sec), new interesting: 3 (total: 40)"
    last=$(grep -E '^fuzz: elapsed: .*execs: ' "$log" | tail -n 1)
    execs=$(sed -nE 's/.*execs: ([0-9]+).*/\1/p' <<<"$last")
    interesting=$(sed -nE 's/.*new interesting: ([0-9]+).*/\1/p' <<<"$last")
    secs=$((SECONDS - start))
    # Average rate over the fuzzing time go test reports (elapsed: 1m0s), not over the build.
    elapsed=$(sed -nE 's/^fuzz: elapsed: ([0-9hms]+),.*/\1/p' <<<"$last")
    fsecs=0
    for part in $(grep -oE '[0-9]+[hms]' <<<"$elapsed"); do
      case $part in
        *h) fsecs=$((fsecs + ${part%h} * 3600)) ;;
        *m) fsecs=$((fsecs + ${part%m} * 60)) ;;
        *s) fsecs=$((fsecs + ${part%s})) ;;
      esac
    done
    rate=0
    if [ -n "$execs" ] && [ "$fsecs" -gt 0 ]; then rate=$((execs / fsecs)); fi
    result=ok
    if [ "$rc" -ne 0 ]; then
      result=FAIL
      failed+=("$pkg $target")
    fi
    summary+=("fuzz=$target pkg=$pkg fuzzed=${fsecs}s wall=${secs}s execs=${execs:-0} execs_per_s=$rate new_interesting=${interesting:-0} result=$result")
    rm -f "$log"
  done
done

echo
echo "== fuzz summary (execs_per_s: average over the fuzzing time; wall also counts the build and the seed-corpus run)"
printf '%s\n' "${summary[@]}"
if [ ${#failed[@]} -gt 0 ]; then
  echo
  echo "failed (the crashing input is in the package's testdata/fuzz/<Target>/; fix the code, keep the file):"
  printf '  %s\n' "${failed[@]}"
  exit 1
fi
