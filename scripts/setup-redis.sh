#!/usr/bin/env bash
# Installs Debian's redis-server for the cluster-wide rate-limit tests (test/e2e/policies-rate-limit.test.ts),
# the way setup-java.sh installs ZooKeeper: from apt, only when missing. The tests start their own
# redis-server on a free port; the package's own service is not used. Idempotent and fast when done.
set -euo pipefail
if [[ -x /usr/bin/redis-server ]]; then
  exit 0
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends redis-server >/dev/null
/usr/bin/redis-server --version
