#!/usr/bin/env bash
# `npm run bench`: the performance table of issue 7 (Ferry vs bare fastify vs a direct Dubbo call).
# Builds what is missing (npm packages, the Java sample provider, wrk), then runs bench/table.ts.
# Arguments pass through: npm run bench -- --seconds 10 --connections 64 --workers [--pipeline 8]
# `npm run bench -- grpc [--seconds 10] [--rounds 3] [--before DIR]` runs bench/grpc-gateway.ts
# instead: Ferry's gRPC path against grpc-gateway over the Go gRPC server (bench/grpc-go).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -d node_modules ]; then npm ci --no-audit --no-fund; fi
if ! command -v wrk >/dev/null 2>&1; then
  SUDO=""; if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq wrk
fi
if [ "${1:-}" = "grpc" ]; then
  shift
  bash scripts/setup-bench-go.sh >/dev/null
  exec node --import tsx bench/grpc-gateway.ts "$@"
fi
bash scripts/setup-java.sh >/dev/null
# The Go upstream that replays a recorded reply for the --workers rows (Go as scripts/setup-go.sh finds it).
export PATH="$PATH:/usr/local/go/bin"
(cd bench/dubbo-replay && go build -o bin/dubbo-replay .)
exec node --import tsx bench/table.ts "$@"
