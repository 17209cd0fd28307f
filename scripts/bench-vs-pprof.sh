#!/usr/bin/env bash
# Runs `pprof-chain diff` and `go tool pprof -top -diff_base` on the same pair
# of large heap profiles and prints both wall times, their ratio and both
# peak resident set sizes (from /usr/bin/time -v).
#
# Use: scripts/bench-vs-pprof.sh [BEFORE AFTER] [RUNS]
# Without files it writes the pair with testdata/bigstacks.sh into
# target/bigstacks. Each tool runs RUNS times (default 3). The script
# reports the best and the median wall time of each, with the largest peak
# memory of any run. Set PPROF_CHAIN to the path of another pprof-chain
# binary (a build of an older commit, say) to time it instead of this tree's
# release build.
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

# Prints "BEST MEDIAN KILOBYTES" for $runs runs of the command: the fastest
# and the median wall time in seconds, and the largest peak resident set size
# of any run. Wall time is read from the shell's microsecond clock around the
# run; /usr/bin/time, which rounds to 10 ms, gives only the peak memory.
measure() {
  local times=() peak=0
  for _ in $(seq "$runs"); do
    local log start end rss
    log=$(mktemp)
    start=$EPOCHREALTIME
    /usr/bin/time -v "$@" >/dev/null 2>"$log"
    end=$EPOCHREALTIME
    rss=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$log")
    rm -f "$log"
    times+=("$(awk -v a="$start" -v b="$end" 'BEGIN {printf "%.6f", b - a}')")
    if [ "$rss" -gt "$peak" ]; then
      peak=$rss
    fi
  done
  printf '%s\n' "${times[@]}" | sort -g | awk -v peak="$peak" '
    { t[NR] = $1 }
    END {
      median = (NR % 2) ? t[(NR + 1) / 2] : (t[NR / 2] + t[NR / 2 + 1]) / 2
      printf "%.6f %.6f %d\n", t[1], median, peak
    }'
}

size_of() { gzip -dc "$1" | wc -c; }

read -r chain_best chain_median chain_rss < <(measure "$chain" diff "$before" "$after")
read -r pprof_best pprof_median pprof_rss < <(measure go tool pprof -top -diff_base="$before" "$after")
larger=$(size_of "$after")

echo "machine:     $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -m)"
echo "inputs:      $before ($(size_of "$before") B uncompressed)"
echo "             $after ($larger B uncompressed)"
echo "binary:      $chain"
echo "runs:        $runs of each tool"
echo "pprof-chain: best ${chain_best} s, median ${chain_median} s, peak ${chain_rss} KB"
echo "go pprof:    best ${pprof_best} s, median ${pprof_median} s, peak ${pprof_rss} KB"
awk -v a="$pprof_median" -v b="$chain_median" -v c="$pprof_best" -v d="$chain_best" \
  'BEGIN {printf "ratio:       %.1f times faster (medians), %.1f times (best runs)\n", a / b, c / d}'
awk -v rss="$chain_rss" -v size="$larger" \
  'BEGIN {printf "memory:      peak %.2f times the larger uncompressed profile\n", rss * 1024 / size}'
# The targets: at least 50 times faster than go tool pprof, and a peak of at
# most 3 times the larger uncompressed profile.
awk -v a="$pprof_median" -v b="$chain_median" -v rss="$chain_rss" -v size="$larger" 'BEGIN {
  printf "targets:     speed %s, memory %s\n",
    (a / b >= 50 ? "met" : "NOT met"), (rss * 1024 <= 3 * size ? "met" : "NOT met")
}'
