#!/usr/bin/env bash
# Regenerates the committed heap profile series in testdata/profiles/.
#
# Usage: testdata/regen.sh [SERIES...]
#
# With no arguments it regenerates every series. All series are written to a
# temporary directory first and moved into place only after every run has
# succeeded, so a failed run leaves testdata/profiles/ unchanged.
set -euo pipefail

testdata=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
profiles=$testdata/profiles

all_series=(
  ctxchain ctxfixed reqchain loggerchain errchain appendslice mapgrow
  boundedcache goroutineleak ctxchain-sampled ctxfixed-sampled ctxchain-8workers
)

# Prints the leakgen flags of series $1.
series_flags() {
  case $1 in
    ctxchain | ctxfixed | reqchain | loggerchain | errchain | appendslice | mapgrow | boundedcache | goroutineleak)
      echo "-variant $1"
      ;;
    # Go's default sampling records about one sample per 512 KiB. At 64 B
    # leaked per task, 100,000 tasks per batch leak about 6.4 MB, or about
    # 12 samples, per batch, so the growth is well above the sampling noise.
    ctxchain-sampled) echo "-variant ctxchain -memprofilerate 0 -batch 100000" ;;
    ctxfixed-sampled) echo "-variant ctxfixed -memprofilerate 0 -batch 100000" ;;
    ctxchain-8workers) echo "-variant ctxchain -workers 8" ;;
    *) return 1 ;;
  esac
}

if [[ $# -gt 0 ]]; then
  selected=("$@")
else
  selected=("${all_series[@]}")
fi
for series in "${selected[@]}"; do
  if ! series_flags "$series" >/dev/null; then
    echo "error: unknown series '$series'; expected one of: ${all_series[*]}" >&2
    exit 2
  fi
done

# The temporary directory is inside testdata/ so that mv is a rename on the
# same file system.
work=$(mktemp -d "$testdata/.profiles-tmp.XXXXXX")
trap 'rm -rf "$work"' EXIT

"$testdata/build-leakgen.sh" "$work/leakgen"

for series in "${selected[@]}"; do
  read -ra flags <<<"$(series_flags "$series")"
  log=$work/$series.log
  start=$SECONDS
  if ! "$work/leakgen" "${flags[@]}" -out "$work/profiles/$series" 2>"$log"; then
    cat "$log" >&2
    echo "error: leakgen failed for series $series (flags: ${flags[*]}); testdata/profiles is unchanged" >&2
    exit 1
  fi
  echo "generated $series in $((SECONDS - start)) s (flags: ${flags[*]})"
done

mkdir -p "$profiles"
for series in "${selected[@]}"; do
  if [[ -e $profiles/$series ]]; then
    mv "$profiles/$series" "$work/old-$series"
  fi
  mv "$work/profiles/$series" "$profiles/$series"
done

echo "total size of testdata/profiles: $(du -sb "$profiles" | cut -f1) bytes"
