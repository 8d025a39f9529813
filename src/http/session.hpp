// One HTTP/1.1 connection: reads requests (with limits and a deadline),
// hands each to its handler with an exchange to answer through, writes the
// answers in order, and closes with a lingering close. Request handling
// itself is in the handlers (http/handlers.hpp).
#pragma once

#include "net/socket.hpp"

namespace hf::net {
struct worker;
}

namespace hf::http {

class session;

// Serves HTTP on `socket` on w's thread until the peer leaves, the
// connection is upgraded, or the server stops. Call on w's thread.
void start_session(net::worker& w, net::stream_socket socket);

// Stops every HTTP session of `w`: idle ones close now, busy ones after their
// answer. Call on w's thread.
void stop_sessions(net::worker& w);

}  // namespace hf::http
