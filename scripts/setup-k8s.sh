#!/usr/bin/env bash
# Test-only: helm and kubeconform (built from the Go module proxy) and the Kubernetes JSON schemas
# kubeconform checks the chart against (made by scripts/k8s-schemas.mjs from the k8s.io/kubernetes
# module's OpenAPI document and prometheus-operator's ServiceMonitor CRD, both from the Go module
# proxy), all under .tmp/k8s. Idempotent: skips what is already there.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DIR="$ROOT/.tmp/k8s"
HELM_VERSION=v3.22.0
KUBECONFORM_VERSION=v0.8.0
KUBERNETES_VERSION=v1.34.4
PROMETHEUS_OPERATOR_VERSION=v0.85.0

if ! command -v go >/dev/null 2>&1; then
  if [ -x /usr/local/go/bin/go ]; then
    export PATH="/usr/local/go/bin:$PATH"
  else
    echo "setup-k8s: no Go toolchain found (need Go >= 1.26 on PATH or in /usr/local/go)" >&2
    exit 1
  fi
fi

mkdir -p "$DIR/bin"
export GOBIN="$DIR/bin" GOFLAGS=-mod=mod
# The Go module cache of the project (downloaded sources are kept between runs on one machine).
export GOMODCACHE="${GOMODCACHE:-$ROOT/.tmp/go/mod}"

stamp="$DIR/.versions"
want="helm=$HELM_VERSION kubeconform=$KUBECONFORM_VERSION kubernetes=$KUBERNETES_VERSION prometheus-operator=$PROMETHEUS_OPERATOR_VERSION"
if [ -x "$DIR/bin/helm" ] && [ -x "$DIR/bin/kubeconform" ] && [ -f "$DIR/schemas/deployment-apps-v1.json" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$want" ]; then
  exit 0
fi

if [ ! -x "$DIR/bin/kubeconform" ] || ! grep -q "kubeconform=$KUBECONFORM_VERSION" "$stamp" 2>/dev/null; then
  echo "setup-k8s: building kubeconform $KUBECONFORM_VERSION"
  go install -trimpath -ldflags=-s "github.com/yannh/kubeconform/cmd/kubeconform@$KUBECONFORM_VERSION"
fi
if [ ! -x "$DIR/bin/helm" ] || ! grep -q "helm=$HELM_VERSION" "$stamp" 2>/dev/null; then
  echo "setup-k8s: building helm $HELM_VERSION (a few minutes)"
  go install -trimpath -ldflags=-s "helm.sh/helm/v3/cmd/helm@$HELM_VERSION"
fi

module_dir() { go mod download -json "$1" | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const j=JSON.parse(s);if(j.Error){console.error(j.Error);process.exit(1)}console.log(j.Dir)})'; }
k8s="$(module_dir "k8s.io/kubernetes@$KUBERNETES_VERSION")"
promop="$(module_dir "github.com/prometheus-operator/prometheus-operator@$PROMETHEUS_OPERATOR_VERSION")"
rm -rf "$DIR/schemas"
node "$ROOT/scripts/k8s-schemas.mjs" "$k8s/api/openapi-spec/swagger.json" \
  "$promop/example/prometheus-operator-crd/monitoring.coreos.com_servicemonitors.yaml" "$DIR/schemas"
echo "$want" >"$stamp"
