#!/usr/bin/env bash
# Builds the Go client that speaks for Envoy's ext_proc filter (test/support/envoy-client),
# on go-control-plane's generated ext_proc types from the Go module proxy.
# Idempotent: rebuilds only when the sources are newer than the binary.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SRC="$ROOT/test/support/envoy-client"
BIN="$SRC/bin/envoy-client"

if ! command -v go >/dev/null 2>&1; then
  if [ -x /usr/local/go/bin/go ]; then
    export PATH="/usr/local/go/bin:$PATH"
  else
    echo "setup-go: no Go toolchain found (need Go >= 1.26 on PATH or in /usr/local/go)" >&2
    exit 1
  fi
fi

if [ -x "$BIN" ] && [ -z "$(find "$SRC" -maxdepth 1 \( -name '*.go' -o -name go.mod -o -name go.sum \) -newer "$BIN" -print -quit)" ]; then
  exit 0
fi

cd "$SRC"
mkdir -p bin
# Module downloads stay under the project, shared with scripts/setup-k8s.sh.
export GOMODCACHE="${GOMODCACHE:-$ROOT/.tmp/go/mod}"
GOFLAGS=-mod=mod go build -o "$BIN" .
echo "setup-go: built $BIN"
