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

# A port already taken is said before the banner, not after it.
if (exec 3<>"/dev/tcp/$host/$port") 2>/dev/null; then
  echo "run: $host:$port is already in use (another server?); set PORT in .env or the environment" >&2
  exit 1
fi

cat <<MSG

  HopeFlow Realtime (development)
  Open the console:  http://$host:$port/console#token=$token
  (connect, subscribe, watch envelopes arrive and ack them, publish; the token
  rides in the link's #fragment, which browsers never send to a server)

  Or with the CLI, in two more terminals:
    $bin listen --user user_123 --filter type=chat_message --ack '{"read":true}'
    $bin publish --user user_123 --type chat_message --payload '{"text":"hello"}'
  The publish answers {"clientCount":1,"results":[{"read":true}]}: every
  socket that matched, and what each one acked (within 5 s).

  A token for user_123, valid 24 h (mint more: $bin token --user <id>):
    $token

  Your own client: open ws://$host:$port/?token=<token>, send
    {"type":"subscribe","filters":[{"type":"chat_message"}]}
  and ack each envelope with {"type":"ack","envelopeId":"<id>","result":<any JSON>};
  a socket that does not ack makes the publisher wait for it until the deadline.
  Publish with curl:
    curl -s http://$host:$port/publish \\
      -H "Authorization: Bearer $token" \\
      -H "Content-Type: application/json" \\
      -d '{"userId":"user_123","type":"chat_message","payload":{"text":"hello"}}'

  Stop with Ctrl-C.

MSG
# The developer console is on for `make run` only (CONSOLE=0 turns it off).
CONSOLE="${CONSOLE:-1}" exec "$bin" "$@"
