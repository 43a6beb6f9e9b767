#!/usr/bin/env bash
# Installs the Debian 12 packages cachet needs, only those that are missing.
# Usage: scripts/install-deps.sh [--tests] [--fuzz] [--lint] [--bench] [--examples]
# Idempotent: on a machine that has everything, it runs no apt command at all.
set -euo pipefail

pkgs=(g++ cmake ninja-build pkg-config make libhiredis-dev libssl-dev libfmt-dev libspdlog-dev libgtest-dev)
for arg in "$@"; do
  case "$arg" in
    # redis-tools: redis-cli creates the test cluster (redis-server runs the sentinels too);
    # openssl: the TLS tests make their certificates; prometheus: promtool and the scrape test;
    # libcpp-httplib-dev: examples/metrics_server.cpp.
    --tests) pkgs+=(redis-server redis-tools procps openssl libcpp-httplib-dev prometheus curl) ;;  # curl: the scrape test asks Prometheus
    --fuzz)  pkgs+=(clang libclang-rt-14-dev) ;;
    --lint)  pkgs+=(clang-tidy cppcheck) ;;
    --bench) pkgs+=(redis-server redis-tools procps openssl gnuplot-nox) ;;  # openssl: the TLS suite's certificates
    --examples) pkgs+=(libcpp-httplib-dev) ;;
    *) echo "install-deps: unknown option '$arg' (accepted: --tests --fuzz --lint --bench --examples)" >&2; exit 2 ;;
  esac
done

missing=()
for p in "${pkgs[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "install-deps: installing missing Debian packages: ${missing[*]}" >&2
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO=sudo; else
    echo "install-deps: need root (or sudo) to install: ${missing[*]}" >&2; exit 1
  fi
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
