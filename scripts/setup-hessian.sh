#!/usr/bin/env bash
# Installs what the Hessian codec tests need on a fresh machine: a JDK, Caucho Hessian (Debian's
# libhessian-java) and Dubbo's hessian-lite from Maven Central, the two Java oracles that
# test/codec/oracle/ compiles against. Idempotent and fast when everything is already there.
set -euo pipefail

HESSIAN_LITE_VERSION=4.0.3
LITE_JAR="$HOME/.m2/repository/org/apache/dubbo/hessian-lite/$HESSIAN_LITE_VERSION/hessian-lite-$HESSIAN_LITE_VERSION.jar"

need=()
command -v javac >/dev/null 2>&1 || need+=(default-jdk-headless)
compgen -G '/usr/share/java/hessian*.jar' >/dev/null || need+=(libhessian-java)
if [ ! -f "$LITE_JAR" ] && ! command -v mvn >/dev/null 2>&1; then need+=(maven); fi

if [ "${#need[@]}" -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${need[@]}" >/dev/null
fi

if [ ! -f "$LITE_JAR" ]; then
  mvn -q -B dependency:get -Dartifact="org.apache.dubbo:hessian-lite:$HESSIAN_LITE_VERSION" -Dtransitive=false
fi
