// One WebSocket of an authenticated user, living on the thread of the shard
// that owns the user: the read loop, the bounded write queue, pings, and the
// close handshake. The protocol itself (frames, handshake) is in the pure
// ws/frame and ws/handshake modules.
#pragma once

#include <cstdint>
#include <string>

#include "net/socket.hpp"
#include "ws/deflate.hpp"

namespace hf::net {
struct worker;
}

namespace hf::ws {

// An authenticated upgrade on its way to the owning shard.
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
};

// Completes the WebSocket handshake on `socket` and attaches it to w's shard
// as up.user_id. Call on w's thread; `socket` must belong to w's io_context.
void start_session(net::worker& w, net::stream_socket socket, upgrade up);

}  // namespace hf::ws
