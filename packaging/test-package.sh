#!/usr/bin/env bash
# Builds the .deb, installs it on this machine, starts the installed binary
# with the installed configuration (no systemd in CI containers), checks
# /healthz and a publish, then removes the package. Run by .ci/run.
#
# Usage: packaging/test-package.sh [build-dir]   (default: build, configured
# and built already; BUILD_DIR=... works too)
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-${BUILD_DIR:-build}}
(cd "$build" && cpack -G DEB >/dev/null)
deb=$(ls -t "$build"/hopeflow-realtime_*.deb | head -n1)
version=$(dpkg-deb -f "$deb" Version)
echo "package: $deb ($(du -k "$deb" | cut -f1) KiB)"
# The debug symbols ship separately, keyed by the binary's build id.
dbgsym=$(ls -t "$build"/hopeflow-realtime-dbgsym_"$version"_*.ddeb | head -n1)
dpkg-deb -c "$dbgsym" | grep -q '/usr/lib/debug/.build-id/.*\.debug$'
dpkg -i "$deb" >/dev/null
trap 'dpkg -r hopeflow-realtime >/dev/null 2>&1 || true' EXIT
test -x /usr/bin/hopeflow-realtime
unit=/lib/systemd/system/hopeflow-realtime.service
test -f $unit
test -f /etc/hopeflow-realtime/config.toml
test -f /etc/hopeflow-realtime/env
[ "$(stat -c %a /etc/hopeflow-realtime/env)" = "600" ]
# Stripped: no DWARF in the installed binary, and a few MB, not ~80.
if readelf -S /usr/bin/hopeflow-realtime | grep -q '\.debug_'; then
  echo "the installed binary has debug sections" >&2
  exit 1
fi
size=$(stat -c %s /usr/bin/hopeflow-realtime)
[ "$size" -lt $((20 * 1024 * 1024)) ] || { echo "installed binary is $size bytes" >&2; exit 1; }
# The documentation the unit and docs/operations.md cite is where they say.
doc=$(sed -n 's|^Documentation=file://||p' $unit)
[ "$doc" = /usr/share/doc/hopeflow-realtime/operations.md ]
test -f "$doc"
grep -q '/usr/share/doc/hopeflow-realtime/' /usr/share/doc/hopeflow-realtime/operations.md
# No ExecReload: the server has no reload; `systemctl reload` must not stop it.
if grep -q '^ExecReload=' $unit; then
  echo "$unit has ExecReload" >&2
  exit 1
fi
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
set -a; . /etc/hopeflow-realtime/env; set +a
/usr/bin/hopeflow-realtime --check-config --config /etc/hopeflow-realtime/config.toml --env-file "" >/dev/null
/usr/bin/hopeflow-realtime --config /etc/hopeflow-realtime/config.toml --env-file "" --host 127.0.0.1 --port "$port" 2>/tmp/hf-package.log &
pid=$!
for _ in $(seq 50); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.1; done
curl -sf "http://127.0.0.1:$port/healthz" | grep -q ok
head=$(curl -sfI "http://127.0.0.1:$port/healthz")
grep -q '^HTTP/1.1 200' <<<"$head"
metrics=$(curl -sf "http://127.0.0.1:$port/metrics")
grep -qx "hopeflow_build_info{version=\"$version\"} 1" <<<"$metrics"
tok=$(/usr/bin/hopeflow-realtime token --user pkg --env-file "")
answer=$(curl -sf "http://127.0.0.1:$port/publish" -H "Authorization: Bearer $tok" -H 'content-type: application/json' -d '{"userId":"pkg"}')
[ "$answer" = '{"clientCount":0,"results":[]}' ]
kill -TERM $pid; wait $pid
echo "package test: 1 passed, 0 failed"
