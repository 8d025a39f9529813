// One WebSocket of an authenticated user, living on the thread of the shard
// that owns the user.
#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <string>

namespace hf::net {

struct worker;

// An authenticated upgrade on its way to the owning shard.
struct ws_upgrade {
  std::string accept;  // Sec-WebSocket-Accept for the 101 answer
  // Bytes that arrived after the request, before our 101: frames from a
  // client that did not wait for the handshake answer (RFC 6455 says it
  // should; some do not). Usually empty.
  std::string early_bytes;
  std::string user_id;
};

// Completes the WebSocket handshake on `socket` and attaches it to w's shard
// as up.user_id. Call on w's thread; `socket` must belong to w's io_context.
void start_websocket(worker& w, boost::asio::ip::tcp::socket socket, ws_upgrade up);

}  // namespace hf::net
