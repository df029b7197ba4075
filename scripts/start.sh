#!/usr/bin/env bash
# Brings up the sample upstreams and Ferry with mappings/ on a fresh machine:
#   - installs/builds what serving needs and is missing (scripts/setup.sh --serve),
#   - starts the Apache Dubbo sample provider (dubbo 20880, triple 50051) and the Python gRPC
#     sample (50061),
#   - serves HTTP on 127.0.0.1:8080 (FERRY_PORT to change) until Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --serve
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT INT TERM

echo "==> starting the Dubbo sample provider"
java -XX:TieredStopAtLevel=1 -XX:+UseSerialGC -Xmx256m -jar samples/java-provider/dist/ferry-sample-provider.jar \
  --dubbo-port 20880 --triple-port 50051 --name sample-1 > .tmp-provider.log 2>&1 &
pids+=($!)
for _ in $(seq 1 120); do
  grep -q 'FERRY-SAMPLE READY' .tmp-provider.log 2>/dev/null && break
  if ! kill -0 "${pids[0]}" 2>/dev/null; then cat .tmp-provider.log; exit 1; fi
  sleep 0.5
done
grep -q 'FERRY-SAMPLE READY' .tmp-provider.log || { echo "provider did not start"; cat .tmp-provider.log; exit 1; }

echo "==> starting the Python gRPC sample"
(cd samples/grpc-python && exec ../../.tmp/venv-grpc/bin/python server.py --port 50061) > .tmp-grpc.log 2>&1 &
pids+=($!)
for _ in $(seq 1 60); do
  grep -q '^READY' .tmp-grpc.log 2>/dev/null && break
  sleep 0.5
done
grep -q '^READY' .tmp-grpc.log || { echo "gRPC sample did not start"; cat .tmp-grpc.log; exit 1; }

echo "==> ferry serve on ${FERRY_HOST:-127.0.0.1}:${FERRY_PORT:-8080}"
node bin/ferry.js serve --mappings "${FERRY_MAPPINGS:-mappings}" --host "${FERRY_HOST:-127.0.0.1}" --port "${FERRY_PORT:-8080}" &
pids+=($!)
wait "${pids[2]}"
