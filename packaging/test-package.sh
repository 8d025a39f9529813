#!/usr/bin/env bash
# Builds the .deb, installs it on this machine, starts the installed binary
# with the installed configuration (no systemd in CI containers), checks
# /healthz and a publish, then removes the package. Run by .ci/run.
set -euo pipefail
cd "$(dirname "$0")/.."
(cd build && cpack -G DEB >/dev/null)
deb=$(ls -t build/hopeflow-realtime_*.deb | head -n1)
echo "package: $deb"
dpkg -i "$deb" >/dev/null
trap 'dpkg -r hopeflow-realtime >/dev/null 2>&1 || true' EXIT
test -x /usr/bin/hopeflow-realtime
test -f /lib/systemd/system/hopeflow-realtime.service
test -f /etc/hopeflow-realtime/config.toml
test -f /etc/hopeflow-realtime/env
[ "$(stat -c %a /etc/hopeflow-realtime/env)" = "600" ]
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
set -a; . /etc/hopeflow-realtime/env; set +a
/usr/bin/hopeflow-realtime --check-config --config /etc/hopeflow-realtime/config.toml --env-file "" >/dev/null
/usr/bin/hopeflow-realtime --config /etc/hopeflow-realtime/config.toml --env-file "" --host 127.0.0.1 --port "$port" 2>/tmp/hf-package.log &
pid=$!
for _ in $(seq 50); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.1; done
curl -sf "http://127.0.0.1:$port/healthz" | grep -q ok
tok=$(/usr/bin/hopeflow-realtime token --user pkg --env-file "")
answer=$(curl -sf "http://127.0.0.1:$port/publish" -H "Authorization: Bearer $tok" -H 'content-type: application/json' -d '{"userId":"pkg"}')
[ "$answer" = '{"clientCount":0,"results":[]}' ]
kill -TERM $pid; wait $pid
echo "package test: 1 passed, 0 failed"
