// The request handlers: each gets a complete, parsed request and answers
// through its exchange, now or later, using only the worker's HTTP context
// `c` (http/context.hpp). All of them run on c's thread (the worker that read
// the request).
#pragma once

#include "http/context.hpp"
#include "http/exchange.hpp"
#include "http/request.hpp"
#include "protocol/routing.hpp"

namespace hf::http {

// Routes one request (docs/protocol.md section 2; route from protocol::classify):
// a WebSocket upgrade is routed as soon as its header is read, everything
// else once the body is in.
void handle_request(context& c, protocol::route route, const request& req, exchange_ptr x);

// POST /publish (publish_handler.cpp): authenticate, check the body, hand
// the envelope to the broker; answers when the broker calls back.
void handle_publish(context& c, const request& req, exchange_ptr x);
// GET /users/<id>/devices: the roster (docs/protocol.md section 13).
void handle_roster(context& c, const request& req, exchange_ptr x);

// GET /healthz, /readyz, /metrics (ops_handler.cpp). /metrics gathers every
// worker's counters on their own threads (c.workers) and answers when all
// have replied.
void handle_healthz(context& c, const request& req, exchange_ptr x);
void handle_readyz(context& c, const request& req, exchange_ptr x);
void handle_metrics(context& c, const request& req, exchange_ptr x);

// GET /console and /console/sdk.js (console_handler.cpp): the developer
// console's page and the SDK it uses, embedded at build time; 404 unless
// CONSOLE=1.
void handle_console(context& c, const request& req, exchange_ptr x);
// GET / without Upgrade (console_handler.cpp): 302 to /console with
// CONSOLE=1; else the contract's 404.
void handle_root(context& c, const request& req, exchange_ptr x);

// GET and HEAD /sdk/realtime.js (sdk_handler.cpp): the SDK module, the
// console's embedded copy, with CORS; 404 unless SERVE_SDK=1.
void handle_sdk(context& c, const request& req, exchange_ptr x);

// Any request with Upgrade: websocket (upgrade_handler.cpp): authenticate,
// check the handshake, and hand the connection (c.hand_off) to the worker
// whose shard owns the user.
void handle_upgrade(context& c, const request& req, exchange_ptr x);

}  // namespace hf::http
