#!/usr/bin/env bash
# Setup for the telemetry/operations tests, from PyPI, as independent checkers nobody here wrote:
# - prometheus_client parses Ferry's /metrics exposition text (test/app/admin-server.test.ts);
# - openapi-spec-validator (with jsonschema) validates the generated OpenAPI 3.1 document and checks
#   sample values against its schemas (test/openapi/generate.test.ts).
# Idempotent and fast when already done.
set -euo pipefail

PROM_CLIENT_VERSION=0.21.1
OPENAPI_VALIDATOR_VERSION=0.9.0

if python3 -c "
import importlib.metadata as m, sys
ok = m.version('prometheus-client') == '${PROM_CLIENT_VERSION}' and m.version('openapi-spec-validator') == '${OPENAPI_VALIDATOR_VERSION}'
sys.exit(0 if ok else 1)" 2>/dev/null; then
  exit 0
fi
PIP_ROOT_USER_ACTION=ignore python3 -m pip install --quiet --disable-pip-version-check \
  "prometheus-client==${PROM_CLIENT_VERSION}" "openapi-spec-validator==${OPENAPI_VALIDATOR_VERSION}"
python3 -c "import importlib.metadata as m; print('prometheus-client', m.version('prometheus-client'), 'openapi-spec-validator', m.version('openapi-spec-validator'))"
