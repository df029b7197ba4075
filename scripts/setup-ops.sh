#!/usr/bin/env bash
# Setup for the telemetry/operations tests, from PyPI, as independent checkers nobody here wrote,
# in a venv under the project (.tmp/venv-ops; nothing goes into the machine's Python):
# - prometheus_client parses Ferry's /metrics exposition text (test/app/admin-server.test.ts);
# - openapi-spec-validator (with jsonschema) validates the generated OpenAPI 3.1 document and checks
#   sample values against its schemas (test/openapi/generate.test.ts).
# Idempotent and fast when already done.
set -euo pipefail
cd "$(dirname "$0")/.."

PROM_CLIENT_VERSION=0.21.1
OPENAPI_VALIDATOR_VERSION=0.9.0
VENV=.tmp/venv-ops
STAMP="$VENV/.ferry-pins-$PROM_CLIENT_VERSION-$OPENAPI_VALIDATOR_VERSION"

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
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check \
  "prometheus-client==${PROM_CLIENT_VERSION}" "openapi-spec-validator==${OPENAPI_VALIDATOR_VERSION}"
"$VENV/bin/python" -c "import prometheus_client, openapi_spec_validator"
touch "$STAMP"
echo "setup-ops: $VENV ready (prometheus-client $PROM_CLIENT_VERSION, openapi-spec-validator $OPENAPI_VALIDATOR_VERSION)"
