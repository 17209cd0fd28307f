#!/usr/bin/env bash
# Writes the two large heap profiles of the bigstacks variant, for speed
# tests. They are too large to commit.
#
# Usage: testdata/bigstacks.sh [OUTDIR [DEPTH]]
#
# OUTDIR defaults to target/bigstacks in the repository root. DEPTH defaults
# to 17, which gives 2^17 leaves and about 131,000 and 262,000 samples. The
# profiles are written to a temporary directory and then replace OUTDIR, so a
# failed run leaves OUTDIR unchanged.
set -euo pipefail

testdata=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
outdir=$(realpath -m -- "${1:-$testdata/../target/bigstacks}")
depth=${2:-17}

mkdir -p "$(dirname "$outdir")"
work=$(mktemp -d "$(dirname "$outdir")/.bigstacks-tmp.XXXXXX")
trap 'rm -rf "$work"' EXIT

"$testdata/build-leakgen.sh" "$work/leakgen"

start=$SECONDS
if ! "$work/leakgen" -variant bigstacks -depth "$depth" -out "$work/profiles" 2>"$work/leakgen.log"; then
  cat "$work/leakgen.log" >&2
  echo "error: leakgen failed for bigstacks at depth $depth; $outdir is unchanged" >&2
  exit 1
fi
echo "generated bigstacks at depth $depth in $((SECONDS - start)) s"

if [[ -e $outdir ]]; then
  mv "$outdir" "$work/old"
fi
mv "$work/profiles" "$outdir"

for profile in "$outdir"/heap-*.pb.gz; do
  echo "$profile: $(stat -c %s "$profile") bytes gzipped, $(gzip -dc "$profile" | wc -c) bytes uncompressed"
done
