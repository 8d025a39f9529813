#!/usr/bin/env bash
# `make run`: start a development server with a random secret kept in .env,
# and print a token and a curl example to try it with.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=build/hopeflow-realtime

if [ -z "${JWT_SECRET:-}" ] && ! grep -qs '^JWT_SECRET=' .env; then
  echo "JWT_SECRET=$(openssl rand -hex 32)" >> .env
  echo "run: created a random development JWT_SECRET in .env"
fi

port="${PORT:-$(sed -n 's/^PORT=//p' .env 2>/dev/null | tail -n1)}"
port="${port:-8787}"
host="${HOST:-$(sed -n 's/^HOST=//p' .env 2>/dev/null | tail -n1)}"
host="${host:-127.0.0.1}"
token=$("$bin" token --user user_123 --ttl 86400)

cat <<MSG

  HopeFlow Realtime (development)  http://$host:$port

  A token for user_123, valid 24 h:
    $token

  Connect a socket (any WebSocket client), then subscribe:
    ws://$host:$port/?token=$token
    {"type":"subscribe","filters":[{"type":"chat_message"}]}

  Publish to it:
    curl -s http://$host:$port/publish \\
      -H "Authorization: Bearer $token" \\
      -H "Content-Type: application/json" \\
      -d '{"userId":"user_123","type":"chat_message","payload":{"text":"hello"}}'

  Or with the CLI, in two more terminals:
    $bin listen --user user_123 --filter type=chat_message --ack '{"read":true}'
    $bin publish --user user_123 --type chat_message --payload '{"text":"hello"}'

  The console (connect, subscribe, watch, publish; the token rides in the
  link's #fragment, which browsers never send to a server):
    http://$host:$port/console#token=$token

  Mint more tokens:  $bin token --user <id> [--ttl seconds]
  Stop with Ctrl-C.

MSG
# The developer console is on for `make run` only (CONSOLE=0 turns it off).
CONSOLE="${CONSOLE:-1}" exec "$bin" "$@"
