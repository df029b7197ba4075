#!/usr/bin/env bash
# Java-side test tools for Ferry: installs what is missing and builds only what changed.
#
#   - apt: a JDK (17), maven, zookeeper, libhessian-java (only those missing)
#   - samples/java-provider  -> samples/java-provider/dist/ferry-sample-provider.jar
#                               and dist/ferry-sample-provider-api.jar (the API classes alone)
#     (Apache Dubbo sample provider; rebuilt only when pom.xml, src/ or idl/sample/ change)
#   - samples/java-provider-27 -> samples/java-provider-27/dist/ (a legacy Dubbo 2.7 provider: its jar
#     and lib/ with its dependencies; rebuilt only when pom.xml or src/ change)
#   - samples/hessian-oracle -> samples/hessian-oracle/bin/ (Caucho oracle + stdin watchdog)
#
# Safe to run from many test processes at once (flock), and fast when everything is current.
# The jar is replaced by an atomic rename, so JVMs still running the old one are not disturbed.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PROVIDER="$ROOT/samples/java-provider"
ORACLE="$ROOT/samples/hessian-oracle"
LEGACY="$ROOT/samples/java-provider-27"
# --build-only is accepted (the test helpers pass it) but packages are still installed when
# missing: those checks cost only a few file tests.
# --serve: only what `npm start` needs (a JDK, Maven and the sample provider); ZooKeeper, Caucho
# Hessian and the oracle are test-only.
SERVE_ONLY=0
[[ " $* " == *" --serve "* ]] && SERVE_ONLY=1

log() { echo "setup-java: $*" >&2; }

# ---------------------------------------------------------------- apt packages
install_packages() {
  local missing=()
  command -v javac >/dev/null 2>&1 || missing+=(openjdk-17-jdk-headless)
  command -v mvn >/dev/null 2>&1 || missing+=(maven)
  command -v unzip >/dev/null 2>&1 || missing+=(unzip)
  if ((!SERVE_ONLY)); then
    [[ -f /usr/share/java/zookeeper.jar ]] || missing+=(zookeeper)
    [[ -f /usr/share/java/hessian.jar ]] || missing+=(libhessian-java)
  fi
  if ((${#missing[@]})); then
    log "installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
}

# ------------------------------------------------------------------- hashing
# Hash of the given files/folders' contents (sorted paths, so it is stable).
tree_hash() {
  (cd "$ROOT" && find "$@" -type f \
    -not -path '*/target/*' -not -path '*/dist/*' -not -path '*/bin/*' -print0 \
    | sort -z | xargs -0 sha256sum | sha256sum | cut -d' ' -f1)
}

# ------------------------------------------------------------ sample provider
build_provider() {
  local jar="$PROVIDER/dist/ferry-sample-provider.jar"
  local api="$PROVIDER/dist/ferry-sample-provider-api.jar"
  local stamp="$PROVIDER/dist/.source-hash"
  local hash
  hash="$(tree_hash samples/java-provider/pom.xml samples/java-provider/src idl/sample)"
  if [[ -f "$jar" && -f "$api" && -f "$stamp" && "$(cat "$stamp")" == "$hash" ]]; then
    return 0
  fi
  log "building samples/java-provider (Maven; first run downloads dependencies)"
  # One Maven run packages the jar and lists the runtime classpath the SPI check reads.
  (cd "$PROVIDER" && mvn -q -B -Dstyle.color=never package dependency:build-classpath -DskipTests \
    -Dmdep.outputFile=target/runtime-classpath -Dmdep.includeScope=runtime >/dev/null)
  check_dubbo_spi "$PROVIDER/target/ferry-sample-provider.jar" "$PROVIDER/target/runtime-classpath"
  mkdir -p "$PROVIDER/dist"
  cp "$PROVIDER/target/ferry-sample-provider.jar" "$jar.tmp.$$"
  mv -f "$jar.tmp.$$" "$jar"
  # The API classes alone (com.example.bank, com.example.lab), for `ferry import --jar`.
  cp "$PROVIDER/target/ferry-sample-provider-api.jar" "$api.tmp.$$"
  mv -f "$api.tmp.$$" "$api"
  echo "$hash" >"$stamp"
  log "built $(du -h "$jar" | cut -f1) $jar"
}

# A class-data-sharing archive of the provider (JDK dynamic CDS), written by one training run that
# starts the provider and exits: JVMs started with -XX:SharedArchiveFile map its ~6,000 parsed and
# verified classes instead of loading them (2.4 s to READY without it, 1.2-1.5 s with it, here).
# Made again whenever the jar is newer; a JVM that finds it stale ignores it. The tests' setup makes
# it; `npm start` has its first run's provider write it on exit instead of waiting for a training run.
make_provider_archive() {
  local jar="$PROVIDER/dist/ferry-sample-provider.jar"
  local jsa="$PROVIDER/dist/ferry-sample-provider.jsa"
  [[ -f "$jsa" && "$jsa" -nt "$jar" ]] && return 0
  local tmp="$jsa.tmp.$$" out="$PROVIDER/dist/.archive-run.log" port
  port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
  # The last run's log goes first: its READY line must not close this run's stdin at once.
  rm -f "$tmp" "$out"
  # stdin closes once READY is printed (or after 60 s): --exit-on-stdin-eof then ends the JVM,
  # which writes the archive of every class it loaded on the way.
  java -XX:TieredStopAtLevel=1 -XX:+UseSerialGC -Xmx256m -XX:ArchiveClassesAtExit="$tmp" -jar "$jar" \
    --host 127.0.0.1 --dubbo-port "$port" --triple-port "$((port + 1))" --name cds-training --exit-on-stdin-eof \
    < <(for _ in $(seq 1 600); do grep -q 'FERRY-SAMPLE READY' "$out" 2>/dev/null && break; sleep 0.1; done) >"$out" 2>&1 || true
  if [[ -s "$tmp" ]]; then
    mv -f "$tmp" "$jsa"
  else
    # Only slower starts without it: say so, do not fail the setup.
    log "no class-data archive for the provider (see $out)"
    rm -f "$tmp"
  fi
}

# ------------------------------------------------- legacy (Dubbo 2.7) provider
build_legacy_provider() {
  local out="$LEGACY/dist"
  local hash
  hash="$(tree_hash samples/java-provider-27/pom.xml samples/java-provider-27/src)"
  if [[ -f "$out/ferry-legacy-provider.jar" && -f "$out/.source-hash" && "$(cat "$out/.source-hash")" == "$hash" ]]; then
    return 0
  fi
  log "building samples/java-provider-27 (Maven; first run downloads Dubbo 2.7)"
  (cd "$LEGACY" && rm -rf target/lib && mvn -q -B -Dstyle.color=never package -DskipTests)
  local tmp="$LEGACY/dist.tmp.$$"
  rm -rf "$tmp"
  mkdir -p "$tmp"
  cp "$LEGACY/target/ferry-legacy-provider.jar" "$tmp/"
  cp -r "$LEGACY/target/lib" "$tmp/lib"
  echo "$hash" >"$tmp/.source-hash"
  rm -rf "$out"
  mv "$tmp" "$out"
  log "built $out"
}

# Dubbo's SPI files must not be silently dropped by the shade plugin: every
# META-INF/dubbo/** file of every runtime dependency jar must have each of its lines in the
# shaded jar's copy.
check_dubbo_spi() {
  local shaded="$1" cp dep entry tmp
  tmp="$(mktemp -d)"
  cp="$(cat "$2")"
  IFS=':' read -r -a deps <<<"$cp"
  for dep in "${deps[@]}"; do
    [[ "$dep" == *.jar ]] || continue
    while IFS= read -r entry; do
      [[ "$entry" == */ ]] && continue
      unzip -p "$dep" "$entry" | grep -v '^\s*#' | grep -v '^\s*$' | sort -u >"$tmp/want"
      unzip -p "$shaded" "$entry" | sort -u >"$tmp/have"
      if [[ -n "$(comm -23 "$tmp/want" "$tmp/have")" ]]; then
        log "shaded jar lost lines of $entry from $(basename "$dep"):"
        comm -23 "$tmp/want" "$tmp/have" >&2
        rm -rf "$tmp"
        return 1
      fi
    done < <(unzip -Z1 "$dep" 2>/dev/null | grep '^META-INF/dubbo/' || true)
  done
  rm -rf "$tmp"
}

# ------------------------------------------------------- Caucho hessian oracle
build_oracle() {
  local out="$ORACLE/bin"
  local stamp="$out/.source-hash"
  local hash
  hash="$(tree_hash samples/hessian-oracle/src)"
  if [[ -f "$stamp" && "$(cat "$stamp")" == "$hash" ]]; then
    return 0
  fi
  log "compiling samples/hessian-oracle"
  local tmp="$ORACLE/bin.tmp.$$"
  rm -rf "$tmp"
  mkdir -p "$tmp"
  javac -nowarn -d "$tmp" -cp /usr/share/java/hessian.jar $(find "$ORACLE/src" -name '*.java')
  echo "$hash" >"$tmp/.source-hash"
  rm -rf "$out"
  mv "$tmp" "$out"
}

main() {
  install_packages
  mkdir -p "$PROVIDER/dist"
  exec 9>"$PROVIDER/dist/.lock"
  flock 9
  ((SERVE_ONLY)) || build_oracle
  build_provider
  # `npm start` makes the archive on its first run's exit instead (scripts/start.sh): no training run on its way.
  ((SERVE_ONLY)) || make_provider_archive
  # `npm start` serves with the Dubbo 3 sample only; the 2.7 provider is a test peer.
  ((SERVE_ONLY)) || build_legacy_provider
}

main
