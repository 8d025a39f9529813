// An HTTP answer as values (status, body kind, body, keep-alive), and the
// bytes it is written as, built directly (no general-purpose serializer on the
// publish path). Pure.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "protocol/vocabulary.hpp"

namespace hf::http {

enum class body_kind {
  json,             // /publish answers: CORS headers + application/json; charset=utf-8
  text,             // text/plain;charset=UTF-8, like a Worker's new Response("...")
  cors_preflight,   // 204 to OPTIONS /publish: CORS headers, max-age, no body
  metrics,          // Prometheus text exposition format 0.0.4
  html,             // the developer console's page
  javascript,       // the SDK module (the console's, and /sdk/realtime.js)
  roster_json,      // GET /users/<id>/devices answers: json's, with GET allowed (section 13)
  roster_preflight  // 204 to OPTIONS /users/<id>/devices
};

struct response {
  unsigned status = 200;
  body_kind kind = body_kind::text;
  std::string body;
  // False: the answer says "connection: close" and the connection ends after
  // it. The session may turn true into false (request, shutdown), never back.
  bool keep_alive = true;
  // Complete "name: value\r\n" lines with static storage duration.
  std::string_view extra_headers;
  // The answer to a HEAD request (RFC 9110 9.3.2): written with the headers,
  // content-length included, that `body` would have, but without `body`.
  bool head = false;
};

// A text/plain answer (404 "Not Found", 401 "Unauthorized", ...).
response text_response(unsigned status, std::string_view body, bool keep_alive = true);
// A /publish answer with an already serialised JSON body.
response json_response(unsigned status, std::string body, bool keep_alive = true);
// {"error":"<message>"} with the /publish headers.
response json_error(unsigned status, std::string_view message, bool keep_alive = true);

// The complete HTTP/1.1 bytes of `r`. For an HTTP/1.0 request (`http10`) a
// kept-alive answer says "connection: keep-alive". With `idle_seconds` (how
// long the server keeps an idle connection, whole seconds) a kept-alive answer
// says "keep-alive: timeout=<idle_seconds>", so that pooling clients (Node's
// fetch, Node's http agent) stop reusing it before the server closes it; a
// POST sent on a connection the server is closing fails and is not retried.
// The `hopeflow-degraded: <value>` header line (with its CRLF; static
// storage, so a response may keep a view of it).
std::string_view degraded_header(protocol::degradation d) noexcept;
// `idempotent-replayed: true` (section 15), and the degraded line the first
// answer had, if any.
std::string_view replayed_header(std::optional<protocol::degradation> d) noexcept;

std::string serialize(const response& r, bool http10 = false, int idle_seconds = -1);
// The same bytes, appended to `out` (a connection reuses one buffer for
// every answer it writes).
void serialize_to(std::string& out, const response& r, bool http10 = false, int idle_seconds = -1);

std::string_view reason_phrase(unsigned status) noexcept;

}  // namespace hf::http
