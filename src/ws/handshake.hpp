// The server side of the RFC 6455 opening handshake (section 4.2). Pure.
#pragma once

#include <optional>
#include <string>
#include <string_view>

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

}  // namespace hf::ws
