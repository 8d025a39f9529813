// The server side of the RFC 6455 opening handshake (section 4.2): checking
// the request, the 101 answer, the plain HTTP answer that refuses an upgrade
// after all, and the authenticated upgrade as it travels to the owning shard.
// Pure.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "ws/deflate.hpp"

namespace hf::ws {

// What the handshake needs from the upgrade request; nullopt = header absent.
struct handshake_request {
  std::string_view method;
  unsigned http_version = 11;  // 10 = HTTP/1.0, 11 = HTTP/1.1
  std::optional<std::string_view> connection, upgrade, key, version;
};

// Either the Sec-WebSocket-Accept value, or why the request is refused:
// `status` 400 (malformed handshake) or 426 (unsupported version; the answer
// must carry "Sec-WebSocket-Version: 13"), with a one-line reason.
struct handshake_result {
  std::string accept;  // empty when refused
  unsigned status = 0;
  std::string reason;
  bool ok() const { return status == 0; }
};

handshake_result check_handshake(const handshake_request& req);

// base64(SHA-1(key + the RFC 6455 GUID)).
std::string accept_key(std::string_view key);

// The complete 101 answer for `accept`, with a Sec-WebSocket-Extensions
// line when `extensions` is not empty.
std::string switching_protocols_response(std::string_view accept, std::string_view extensions = {});

// The complete answer refusing an upgrade that passed the handshake checks
// (429 MAX_SOCKETS_PER_USER, 503 no cluster subscription): `status` with
// `reason` as both reason phrase and text/plain body, and "connection:
// close". The same bytes as http::serialize(http::text_response(status,
// reason, false)) when `reason` is the status's reason phrase.
std::string refusal_response(unsigned status, std::string_view reason);

// An authenticated upgrade on its way to the owning shard (from the HTTP
// upgrade handler to ws::start_session).
struct upgrade {
  std::string accept;  // Sec-WebSocket-Accept for the 101 answer
  // Bytes that arrived after the request, before our 101: frames from a
  // client that did not wait for the handshake answer (RFC 6455 says it
  // should; some do not). Usually empty.
  std::string early_bytes;
  std::string user_id;
  std::int64_t expires_at = INT64_MAX;  // the token's exp (seconds since the epoch), if any
  // permessage-deflate, when negotiated: the parameters and the
  // Sec-WebSocket-Extensions value of the 101 answer.
  std::optional<deflate_params> deflate;
  std::string extensions;
  std::string device;  // docs/protocol.md section 11; empty: none named
};

}  // namespace hf::ws
