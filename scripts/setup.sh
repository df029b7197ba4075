#!/usr/bin/env bash
# Installs and builds everything the gateway, the samples and the tests need on a fresh machine:
# npm packages, then every scripts/setup-*.sh (Java provider + ZooKeeper + Caucho Hessian, the Python
# gRPC peer, the Go ext_proc client, ...). Each part is idempotent and quick when already done.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi
# `--serve`: only what `npm start` needs (the build, the Java sample provider, the Python gRPC
# sample); test-only peers (rnacos, the Go ext_proc client, ...) are set up by `npm test`.
if [ "${1:-}" = "--serve" ]; then
  parts=(scripts/setup-build.sh scripts/setup-java.sh scripts/setup-python.sh)
else
  parts=(scripts/setup-*.sh)
fi
for part in "${parts[@]}"; do
  echo "==> $part"
  bash "$part"
done
