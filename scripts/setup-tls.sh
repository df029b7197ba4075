#!/usr/bin/env bash
# The TLS tests make their certificates with openssl and drive the HTTPS front end with curl
# (HTTP/1.1 and HTTP/2): both from Debian, installed only when missing. Idempotent.
set -euo pipefail
missing=()
command -v openssl >/dev/null 2>&1 || missing+=(openssl)
command -v curl >/dev/null 2>&1 || missing+=(curl)
if [ "${#missing[@]}" -gt 0 ]; then
  echo "setup-tls: installing ${missing[*]}"
  SUDO=""; if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
