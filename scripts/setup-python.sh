#!/usr/bin/env bash
# Installs the Python peers' dependencies (grpcio, grpcio-tools, grpcio-reflection, protobuf; PyJWT and cryptography,
# which sign the tokens the auth tests verify; hpack, the oracle of test/upstream/http2/hpack-oracle.test.ts) into a
# venv under .tmp/venv-grpc. Idempotent: returns at once when the pinned versions are already there.
set -euo pipefail
cd "$(dirname "$0")/.."

VENV=".tmp/venv-grpc"
GRPCIO=1.84.0
PROTOBUF=7.36.2
PYJWT=2.15.1
CRYPTOGRAPHY=50.0.2
HPACK=4.1.0
STAMP="$VENV/.ferry-pins-$GRPCIO-$PROTOBUF-$PYJWT-$CRYPTOGRAPHY-$HPACK-reflection"

if [[ -f "$STAMP" && -x "$VENV/bin/python" ]]; then
  exit 0
fi

PY="${PYTHON:-python3}"
if ! "$PY" -c 'import venv, ensurepip' >/dev/null 2>&1; then
  if ! dpkg -s python3-venv >/dev/null 2>&1; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv
  fi
  PY=/usr/bin/python3
fi

mkdir -p .tmp
"$PY" -m venv "$VENV"
"$VENV/bin/python" -m pip install --disable-pip-version-check -q \
  "grpcio==$GRPCIO" "grpcio-tools==$GRPCIO" "grpcio-reflection==$GRPCIO" "protobuf==$PROTOBUF" "pyjwt==$PYJWT" "cryptography==$CRYPTOGRAPHY" "hpack==$HPACK"
"$VENV/bin/python" -c 'import grpc, grpc_tools, grpc_reflection.v1alpha.reflection, google.protobuf.json_format, jwt, cryptography, hpack' 
touch "$STAMP"
echo "setup-python: $VENV ready (grpcio $GRPCIO, protobuf $PROTOBUF, pyjwt $PYJWT, hpack $HPACK)"
