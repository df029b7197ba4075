#!/usr/bin/env bash
# The Nacos server the discovery tests register Dubbo providers into: rnacos (a Nacos 2.x-compatible
# server written in Rust, from crates.io), installed inside the project only:
#   .tmp/rnacos/bin/rnacos        (cargo install --root .tmp/rnacos)
#   .tmp/cargo-home/              (cargo's registry cache and build files)
# Quick no-op when the binary of the pinned version is already there.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VERSION=0.8.8
PREFIX="$ROOT/.tmp/rnacos"
BIN="$PREFIX/bin/rnacos"
STAMP="$PREFIX/.version"

if [[ -x "$BIN" && -f "$STAMP" && "$(cat "$STAMP")" == "$VERSION" ]]; then
  exit 0
fi
# Installed before the stamp existed (e.g. by hand with the same command): trust cargo's own record.
if [[ -x "$BIN" && -f "$PREFIX/.crates.toml" ]] && grep -q "^\"rnacos $VERSION " "$PREFIX/.crates.toml"; then
  echo "$VERSION" >"$STAMP"
  exit 0
fi

if ! command -v cargo >/dev/null 2>&1; then
  echo "setup-nacos: cargo not found (need a Rust toolchain on PATH to build rnacos $VERSION)" >&2
  exit 1
fi

mkdir -p "$PREFIX" "$ROOT/.tmp/cargo-home"
exec 9>"$PREFIX/.lock"
flock 9
if [[ -x "$BIN" && -f "$STAMP" && "$(cat "$STAMP")" == "$VERSION" ]]; then
  exit 0
fi
echo "setup-nacos: building rnacos $VERSION (cargo install; 10-20 minutes on 2 cores)" >&2
CARGO_HOME="$ROOT/.tmp/cargo-home" cargo install rnacos --version "$VERSION" --root "$PREFIX"
echo "$VERSION" >"$STAMP"
echo "setup-nacos: installed $BIN" >&2
