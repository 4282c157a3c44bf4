#!/usr/bin/env bash
# Installs the external tools the test suite uses, idempotently, into the system (Debian packages)
# and into .tools/bin (Go tools built from the Go module proxy). Safe to run on every test run.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p .tools/bin

need_apt=()
# command:package pairs; each tool is installed only when missing.
for pair in openssl:openssl docker-registry:docker-registry htpasswd:apache2-utils zstd:zstd \
  podman:podman runc:runc dpkg-deb:dpkg; do
  cmd=${pair%%:*}; pkg=${pair##*:}
  command -v "$cmd" >/dev/null 2>&1 || need_apt+=("$pkg")
done
# Encrypted persistent volumes: LUKS2 tests on file-backed images (tests/initializer/volume/).
command -v cryptsetup >/dev/null 2>&1 || need_apt+=(cryptsetup-bin)
# The initializer image's mke2fs checked from outside (tests/e2e/images_test.ts).
command -v e2fsck >/dev/null 2>&1 || need_apt+=(e2fsprogs)
# The service-mesh proxy image in network namespaces (tests/e2e/images_test.ts): veth links,
# nsenter, and the host's iptables-save to read the rules back.
for pair in ip:iproute2 iptables-save:iptables nsenter:util-linux; do
  command -v "${pair%%:*}" >/dev/null 2>&1 || need_apt+=("${pair##*:}")
done
if [ ${#need_apt[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}" >/dev/null
  else
    sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}" >/dev/null
  fi
fi

# opa (Open Policy Agent), pinned: compiles rego/rules.rego to WebAssembly and runs `opa test`.
OPA_VERSION=v1.22.2
# Go is needed only to build opa; it may be installed outside PATH (/usr/local/go) or not at all.
if ! command -v go >/dev/null 2>&1; then
  if [ -x /usr/local/go/bin/go ]; then export PATH="$PATH:/usr/local/go/bin"; fi
fi
if ! .tools/bin/opa version 2>/dev/null | grep -q "^Version: ${OPA_VERSION#v}$"; then
  if ! command -v go >/dev/null 2>&1; then
    echo "install_tools: Go is needed to build opa ${OPA_VERSION} and was not found" >&2
    echo "install_tools: install it from Debian (golang-go) or https://go.dev/dl and re-run" >&2
    exit 1
  fi
  CGO_ENABLED=0 GOBIN="$PWD/.tools/bin" go install "github.com/open-policy-agent/opa@${OPA_VERSION}"
fi

# etcd (Debian) + kube-apiserver and kubectl (built from the Go module proxy, pinned in tools/kube)
# for the tests on a real Kubernetes API server (testing/kube/); ~12 min the first time.
bash scripts/install_kube.sh
