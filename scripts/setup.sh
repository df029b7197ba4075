#!/usr/bin/env bash
# Installs and builds everything the gateway, the samples and the tests need on a fresh machine:
# Node >= 22 (scripts/node-runtime.sh), npm packages, then every scripts/setup-*.sh (Java provider +
# ZooKeeper + Caucho Hessian, the Python gRPC peer, the Go ext_proc client, ...). Each part is
# idempotent and quick when already done; everything lands under the project folder (.tmp/, dist/,
# samples/*/dist, node_modules/), apart from apt packages (JDK, Maven, ...) a part finds missing.
#
# `--serve`: only what `npm start` needs (the build, the Java sample provider, the Python gRPC
# sample the payments mappings call); test-only peers (rnacos, the Go ext_proc client, ZooKeeper,
# the Hessian oracles, ...) are set up by `npm test`. The Java and Python parts need no npm
# packages, so they run alongside `npm ci` and the build; their output is shown only on failure.
set -euo pipefail
cd "$(dirname "$0")/.."

npm_packages() {
  if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
    echo "==> npm ci"
    npm ci --no-audit --no-fund --loglevel=error
  fi
}

if [ "${1:-}" = "--serve" ]; then
  mkdir -p .tmp
  bg=()
  started=$SECONDS
  for part in "scripts/setup-java.sh --serve" scripts/setup-python.sh; do
    name="$(basename "${part%% *}" .sh)"
    # Each part writes how long it took, so a slow first start says where its time went.
    # shellcheck disable=SC2086 # the part's words are its command line
    (s=$SECONDS && bash $part && echo "$((SECONDS - s))" >".tmp/$name.seconds") >".tmp/$name.log" 2>&1 &
    bg+=("$!:$name")
  done
  # shellcheck source=scripts/node-runtime.sh
  source scripts/node-runtime.sh
  s=$SECONDS
  npm_packages
  bash scripts/setup-build.sh
  times="npm + build $((SECONDS - s)) s"
  failed=0
  for entry in "${bg[@]}"; do
    if ! wait "${entry%%:*}"; then
      echo "setup: ${entry#*:} failed:" >&2
      cat ".tmp/${entry#*:}.log" >&2
      failed=1
    else
      times+=", ${entry#*:} $(cat ".tmp/${entry#*:}.seconds" 2>/dev/null || echo '?') s"
    fi
  done
  # Quiet when everything was already there.
  if ((SECONDS - started > 2)); then echo "==> set up in $((SECONDS - started)) s ($times)"; fi
  exit "$failed"
fi

# shellcheck source=scripts/node-runtime.sh
source scripts/node-runtime.sh
npm_packages
for part in scripts/setup-*.sh; do
  echo "==> $part"
  bash "$part"
done
