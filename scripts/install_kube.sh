#!/usr/bin/env bash
# Installs what the tests on a real Kubernetes API server need, idempotently: etcd from Debian and
# kube-apiserver + kubectl built from the Go module proxy (tools/kube pins them) into .tools/bin.
# The first build takes ~12 minutes on 2 cores; Go's build cache makes later runs take seconds.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p .tools/bin
if ! command -v etcd >/dev/null 2>&1; then
  sudo_=""; [ "$(id -u)" = 0 ] || sudo_=sudo
  $sudo_ apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo_ apt-get install -y -qq etcd-server >/dev/null
fi
if ! command -v go >/dev/null 2>&1 && [ -x /usr/local/go/bin/go ]; then export PATH="$PATH:/usr/local/go/bin"; fi
want=$(sed -n 's/^require k8s.io\/kubernetes \(v[0-9.]*\)$/\1/p' tools/kube/go.mod)
have=$(.tools/bin/kube-apiserver --version 2>/dev/null | awk '{print $2}' || true)
if [ "$have" != "$want" ] || [ ! -x .tools/bin/kubectl ]; then
  (cd tools/kube && CGO_ENABLED=0 GOBIN="$PWD/../../.tools/bin" go install -trimpath \
    -ldflags "-X k8s.io/component-base/version.gitVersion=${want}" \
    k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kubectl)
fi
