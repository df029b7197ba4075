#!/usr/bin/env bash
# Installs Debian's Chromium for the console's browser tests (test/e2e/console*.test.ts), the way
# setup-redis.sh installs redis-server: from apt, only when missing. playwright-core drives it through
# its executablePath; Playwright never downloads a browser. Idempotent and fast when done.
set -euo pipefail
if [[ -x /usr/bin/chromium ]]; then
  exit 0
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends chromium >/dev/null
/usr/bin/chromium --version
