#!/usr/bin/env bash
# Builds bench/grpc-go (the Go gRPC server, grpc-gateway and the direct-call load client of the
# gRPC bench): protoc from the venv's grpcio-tools (scripts/setup-python.sh), protoc-gen-go,
# protoc-gen-go-grpc and protoc-gen-grpc-gateway from the Go module proxy into .tmp/gobin,
# the generated code into bench/grpc-go/benchpb. Idempotent: rebuilds when a source is newer.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SRC="$ROOT/bench/grpc-go"
BIN="$SRC/bin/grpc-go"
PROTO="$ROOT/idl/bench/v1/orders.proto"
if ! command -v go >/dev/null 2>&1; then export PATH="/usr/local/go/bin:$PATH"; fi
if [ -x "$BIN" ] && [ -z "$(find "$SRC"/*.go "$SRC"/go.mod "$PROTO" -newer "$BIN" -print -quit)" ]; then exit 0; fi

bash "$ROOT/scripts/setup-python.sh" >/dev/null
PY="$ROOT/.tmp/venv-grpc/bin/python"
export GOBIN="$ROOT/.tmp/gobin"
[ -x "$GOBIN/protoc-gen-go" ] || go install google.golang.org/protobuf/cmd/protoc-gen-go@v1.36.12
[ -x "$GOBIN/protoc-gen-go-grpc" ] || go install google.golang.org/grpc/cmd/protoc-gen-go-grpc@v1.6.0
[ -x "$GOBIN/protoc-gen-grpc-gateway" ] || go install github.com/grpc-ecosystem/grpc-gateway/v2/protoc-gen-grpc-gateway@v2.33.0
WKT="$("$PY" -c 'import grpc_tools, os; print(os.path.join(os.path.dirname(grpc_tools.__file__), "_proto"))')"
OUT="$(mktemp -d)"
M="Mbench/v1/orders.proto=ferry.local/bench-grpc/benchpb"
"$PY" -m grpc_tools.protoc -I "$ROOT/idl" -I "$WKT" \
  --plugin=protoc-gen-go="$GOBIN/protoc-gen-go" --plugin=protoc-gen-go-grpc="$GOBIN/protoc-gen-go-grpc" \
  --plugin=protoc-gen-grpc-gateway="$GOBIN/protoc-gen-grpc-gateway" \
  --go_out="$OUT" --go_opt=paths=source_relative,$M \
  --go-grpc_out="$OUT" --go-grpc_opt=paths=source_relative,$M \
  --grpc-gateway_out="$OUT" --grpc-gateway_opt=paths=source_relative,$M \
  bench/v1/orders.proto
rm -rf "$SRC/benchpb" && mkdir -p "$SRC/benchpb" && mv "$OUT"/bench/v1/*.go "$SRC/benchpb/" && rm -rf "$OUT"
cd "$SRC" && mkdir -p bin && GOFLAGS=-mod=mod go build -o "$BIN" .
echo "setup-bench-go: built $BIN"
