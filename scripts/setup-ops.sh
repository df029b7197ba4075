#!/usr/bin/env bash
# Setup for the telemetry/operations tests: Python's prometheus_client, used as an independent parser
# of Ferry's /metrics exposition text (test/ops/admin-server.test.ts). Idempotent and fast when done.
set -euo pipefail

PROM_CLIENT_VERSION=0.21.1

if python3 -c "import importlib.metadata as m, sys; sys.exit(0 if m.version('prometheus-client') == '${PROM_CLIENT_VERSION}' else 1)" 2>/dev/null; then
  exit 0
fi
PIP_ROOT_USER_ACTION=ignore python3 -m pip install --quiet --disable-pip-version-check "prometheus-client==${PROM_CLIENT_VERSION}"
python3 -c "import importlib.metadata as m; print('prometheus-client', m.version('prometheus-client'))"
