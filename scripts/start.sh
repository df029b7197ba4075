#!/usr/bin/env bash
# Brings up the sample upstreams and Ferry with mappings/ on a fresh machine:
#   - Node >= 22 first on PATH (scripts/node-runtime.sh: from .tmp/ when the machine's is older),
#   - installs/builds what serving needs and is missing (scripts/setup.sh --serve),
#   - starts, side by side, the Apache Dubbo sample provider (dubbo 20880, triple 50051) and the
#     Python gRPC sample (50061), then `ferry serve` once both are up (HTTP on 127.0.0.1:8080,
#     FERRY_PORT to change; admin on 127.0.0.1:9090, FERRY_ADMIN_PORT),
#   - says "ready" once Ferry's /readyz sees every upstream, and runs until Ctrl-C or SIGTERM,
#     which stop everything it started (what does not stop within 10 s is killed).
# The samples' output goes to .tmp-provider.log and .tmp-grpc.log; Ferry logs to this terminal.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --serve
# shellcheck source=scripts/node-runtime.sh
source scripts/node-runtime.sh # quick: setup.sh has provided it when needed

pids=()
names=()
stop_all() {
  trap - EXIT INT TERM
  local p i
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for i in $(seq 1 40); do
    local alive=0
    for p in "${pids[@]}"; do kill -0 "$p" 2>/dev/null && alive=1; done
    ((alive)) || break
    sleep 0.25
  done
  local killed=0
  for i in "${!pids[@]}"; do
    if kill -0 "${pids[$i]}" 2>/dev/null; then
      echo "start: ${names[$i]} did not stop on SIGTERM within 10 s: killed" >&2
      kill -KILL "${pids[$i]}" 2>/dev/null || true
      ((i == 0)) && killed=1
    fi
  done
  # An archive is kept only from a provider that exited by itself (a killed JVM leaves half of one).
  if [[ -n "${jsa_new:-}" && -f "$jsa_new" ]]; then
    if ((killed)); then rm -f "$jsa_new"; else mv -f "$jsa_new" "$jsa"; fi
  fi
}
trap 'stop_all; exit 130' INT
trap 'stop_all; exit 143' TERM
trap stop_all EXIT

port="${FERRY_PORT:-8080}"
admin="${FERRY_ADMIN_PORT:-9090}"
# Last run's logs go first: their READY lines must not be taken for this run's.
rm -f .tmp-provider.log .tmp-grpc.log
# Dubbo waits up to 10 s for calls in flight on SIGTERM by default; the sample needs 2.
# The provider's class-data archive (see make_provider_archive in scripts/setup-java.sh) halves the
# JVM's start-up work. `npm start` does not wait for a training run on a fresh machine: without a
# current archive, this run's JVM writes one when it exits.
jar=samples/java-provider/dist/ferry-sample-provider.jar
jsa="${jar%.jar}.jsa"
jsa_new=""
if [[ -f "$jsa" && "$jsa" -nt "$jar" ]]; then
  cds=(-XX:SharedArchiveFile="$jsa")
else
  jsa_new="$jsa.tmp.$$"
  cds=(-XX:ArchiveClassesAtExit="$jsa_new")
fi
java -XX:TieredStopAtLevel=1 -XX:+UseSerialGC -Xmx256m "${cds[@]}" -Ddubbo.service.shutdown.wait=2000 -jar "$jar" \
  --dubbo-port 20880 --triple-port 50051 --name sample-1 >.tmp-provider.log 2>&1 &
pids+=($!) names+=("the Dubbo sample provider")
(cd samples/grpc-python && exec ../../.tmp/venv-grpc/bin/python server.py --port 50061) >.tmp-grpc.log 2>&1 &
pids+=($!) names+=("the Python gRPC sample")

# A process that exits during start-up ends the start (the EXIT trap stops the others).
check_alive() {
  local i
  for i in "${!pids[@]}"; do
    if ! kill -0 "${pids[$i]}" 2>/dev/null; then
      echo "start: ${names[$i]} exited during start-up" >&2
      [[ $i == 0 ]] && tail -20 .tmp-provider.log >&2
      [[ $i == 1 ]] && tail -20 .tmp-grpc.log >&2
      exit 1
    fi
  done
}
# Ferry starts once both samples say READY (the provider accepts connections before it has
# exported every service): started earlier, its reconnect backoff would delay the first answer.
for _ in $(seq 1 1200); do
  check_alive
  grep -q 'FERRY-SAMPLE READY' .tmp-provider.log && grep -q '^READY' .tmp-grpc.log && break
  sleep 0.1
done
node bin/ferry.js serve --mappings "${FERRY_MAPPINGS:-mappings}" --host "${FERRY_HOST:-127.0.0.1}" --port "$port" --admin-port "$admin" &
pids+=($!) names+=("ferry serve")

# Ready when Ferry's readiness sees every upstream.
ready_probe() { (exec 3<>"/dev/tcp/127.0.0.1/$admin" && printf 'GET /readyz HTTP/1.0\r\n\r\n' >&3 && head -1 <&3 | grep -q ' 200 ') 2>/dev/null; }
ready=0
for _ in $(seq 1 600); do
  check_alive
  if ready_probe; then
    echo "==> ready: http://${FERRY_HOST:-127.0.0.1}:$port (try: curl -s localhost:$port/accounts/2); Ctrl-C stops"
    ready=1
    break
  fi
  sleep 0.1
done
((ready)) || echo "start: not ready after a minute; curl -s localhost:$admin/readyz says why" >&2
# Runs until any of them exits (or a signal arrives; the traps stop the others).
wait -n "${pids[@]}" || true
