#!/usr/bin/env bash
# Runs `pprof-chain diff` and `go tool pprof -top -diff_base` on the same pair
# of large heap profiles and prints both wall times, their ratio and both
# peak resident set sizes (from /usr/bin/time -v).
#
# Use: scripts/bench-vs-pprof.sh [BEFORE AFTER] [RUNS]
# Without files it writes the pair with testdata/bigstacks.sh into
# target/bigstacks. Each tool runs RUNS times (default 3); the best run of
# each is reported. Set PPROF_CHAIN to the path of another pprof-chain binary
# (a build of an older commit, say) to time it instead of this tree's release
# build.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$#" -ge 2 ]; then
  before=$1 after=$2 runs=${3:-3}
else
  runs=${1:-3}
  if ! ls target/bigstacks/*.pb.gz >/dev/null 2>&1; then
    bash testdata/bigstacks.sh >&2
  fi
  before=$(ls target/bigstacks/*.pb.gz | sort | head -n 1)
  after=$(ls target/bigstacks/*.pb.gz | sort | tail -n 1)
fi
bash scripts/install-go.sh >/dev/null
chain=${PPROF_CHAIN:-}
if [ -z "$chain" ]; then
  cargo build --release --quiet
  chain=target/release/pprof-chain
fi
if [ ! -x /usr/bin/time ]; then
  echo "/usr/bin/time is missing: apt-get install -y time" >&2
  exit 2
fi

# Prints "SECONDS KILOBYTES" of the best of $runs runs of the command.
measure() {
  local best_time="" best_rss=""
  for _ in $(seq "$runs"); do
    local log
    log=$(mktemp)
    /usr/bin/time -v "$@" >/dev/null 2>"$log"
    local wall rss
    wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {
      n = split($2, p, ":"); s = 0; for (i = 1; i <= n; i++) s = s * 60 + p[i]; print s }' "$log")
    rss=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$log")
    rm -f "$log"
    if [ -z "$best_time" ] || awk -v a="$wall" -v b="$best_time" 'BEGIN {exit !(a < b)}'; then
      best_time=$wall best_rss=$rss
    fi
  done
  echo "$best_time $best_rss"
}

size_of() { gzip -dc "$1" | wc -c; }

read -r chain_time chain_rss < <(measure "$chain" diff "$before" "$after")
read -r pprof_time pprof_rss < <(measure go tool pprof -top -diff_base="$before" "$after")
larger=$(size_of "$after")

echo "machine:     $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -m)"
echo "inputs:      $before ($(size_of "$before") B uncompressed)"
echo "             $after ($larger B uncompressed)"
echo "binary:      $chain"
echo "pprof-chain: ${chain_time} s, peak ${chain_rss} KB"
echo "go pprof:    ${pprof_time} s, peak ${pprof_rss} KB"
awk -v a="$pprof_time" -v b="$chain_time" 'BEGIN {printf "ratio:       %.1f times faster\n", a / b}'
awk -v rss="$chain_rss" -v size="$larger" \
  'BEGIN {printf "memory:      peak %.2f times the larger uncompressed profile\n", rss * 1024 / size}'
