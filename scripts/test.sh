#!/usr/bin/env bash
# The whole test suite: type-check, lint (eslint, prettier --check), then every test file under test/
# (the file list is built here, so the run does not depend on the shell's or Node's globbing). Tests start the services they
# need (Java Dubbo providers, ZooKeeper, the Python gRPC peer, the Go ext_proc client) on free
# loopback ports themselves.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/node-runtime.sh
source scripts/node-runtime.sh # Node >= 22 first on PATH (from .tmp/ when the machine's is older)
echo "==> Node.js $(node --version)"
bash scripts/setup.sh
echo "==> tsc --noEmit"
npx tsc --noEmit -p .
npx tsc --noEmit -p console # the admin console's browser code (DOM types)
echo "==> npm run lint (eslint, prettier --check)"
npm run --silent lint
mapfile -t files < <(find test -name '*.test.ts' -not -path '*/node_modules/*' | sort)
echo "==> node --test (${#files[@]} files)"
exec node --import tsx --test --test-concurrency=1 --test-reporter=spec "${files[@]}"
