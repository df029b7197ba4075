#!/usr/bin/env bash
# Installs what the Hessian codec tests need on a fresh machine: Caucho Hessian (Debian's
# libhessian-java) and a JDK to compile the small oracle under test/codec/oracle/. Idempotent and
# fast when everything is already there.
set -euo pipefail

need=()
command -v javac >/dev/null 2>&1 || need+=(default-jdk-headless)
compgen -G '/usr/share/java/hessian*.jar' >/dev/null || need+=(libhessian-java)

if [ "${#need[@]}" -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${need[@]}" >/dev/null
fi
