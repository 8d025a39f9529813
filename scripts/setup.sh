#!/usr/bin/env bash
# Installs what building and running need, and with --with-test-clients what
# testing needs too, and nothing when it is already there: Debian packages
# (apt-get) and the test clients (npm ci, from tests/*/package-lock.json).
# Safe to run repeatedly.
set -euo pipefail
cd "$(dirname "$0")/.."

# What building and running need (`make build`, `make run`).
packages=(
  g++ cmake ninja-build ccache pkg-config
  libboost1.81-dev libboost-json1.81-dev libboost-url1.81-dev
  libssl-dev zlib1g-dev libspdlog-dev libgtest-dev libhiredis-dev libtomlplusplus-dev
  openssl curl
)
# What the tests add (--with-test-clients): clang and its sanitizer runtime
# (fuzzing, ASan, TSan), redis-server (cluster tests, the store's scripts),
# nginx (the proxy example), Python's clients and Chromium (browser tests).
if [ "${1:-}" = "--with-test-clients" ]; then
  packages+=(clang libclang-rt-14-dev redis-server nginx python3-prometheus-client
             python3-websockets chromium fonts-liberation)
fi
# The machine image may ship its own Node.js outside Debian's packages.
command -v node >/dev/null && command -v npm >/dev/null || packages+=(nodejs npm)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  # Packages with services (redis-server, nginx) must not start them here:
  # the tests start their own instances on free loopback ports.
  policy=/usr/sbin/policy-rc.d
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' | $sudo tee "$policy" >/dev/null
    $sudo chmod 755 "$policy"
    trap '$sudo rm -f "$policy"' EXIT
  fi
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if [ "${1:-}" = "--with-test-clients" ]; then
  # tests/e2e: ws and jose; tests/clients: playwright-core (driving Debian's
  # chromium, never a downloaded browser), typescript (checks the SDK's types)
  # and express (the README's webhook receiver, run as written).
  for dir in tests/e2e tests/clients; do
    if [ ! -d $dir/node_modules ] || [ $dir/package-lock.json -nt $dir/node_modules ]; then
      echo "setup: installing test clients in $dir (npm ci)"
      (cd $dir && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error)
    fi
  done
fi
