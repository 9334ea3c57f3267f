#!/usr/bin/env bash
# setup.sh - installs chatter's Debian 12 packages and builds it.
#   ./setup.sh            install packages (needs root or sudo) and build into ./build
#   ./setup.sh --no-deps  build only
set -euo pipefail
cd "$(dirname "$0")"

PACKAGES=(build-essential cmake pkg-config ca-certificates curl
  libmicrohttpd-dev libcurl4-openssl-dev libjansson-dev librhonabwy-dev libgnutls28-dev
  libsqlite3-dev libpq-dev libhiredis-dev libopenblas-dev libpcre2-dev libutf8proc-dev libcmocka-dev
  python3 sqlite3 postgresql redis-server)

if [ "${1:-}" != "--no-deps" ]; then
  missing=()
  for p in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO=sudo
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
  fi
fi

cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)"
echo "built ./build/chatter"
