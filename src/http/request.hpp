// A parsed HTTP request as the handlers see it: what routing, authentication,
// publishing and the upgrade need, independent of the parser. Pure.
#pragma once

#include <optional>
#include <string_view>

namespace hf::http {

// Views into the session's parser: valid only during the handler call. A
// handler that answers later copies what it keeps. A header is nullopt when
// absent. The handshake headers (upgrade, connection, sec_websocket_*) are
// filled for WebSocket upgrades only, the body for every other request.
struct request {
  std::string_view method;
  std::string_view target;  // as sent: "/publish?token=..." (or absolute form)
  unsigned version = 11;    // 10 = HTTP/1.0, 11 = HTTP/1.1
  std::optional<std::string_view> authorization, content_type, upgrade, connection,
      sec_websocket_key, sec_websocket_version,
      sec_websocket_extensions,  // the first such header line
      idempotency_key;           // section 15
  std::string_view body;         // empty for an upgrade (answered after the header)
  bool keep_alive = true;        // what the request asked for
};

}  // namespace hf::http
