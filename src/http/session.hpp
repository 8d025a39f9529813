// One HTTP/1.1 connection: reads requests (with limits and a deadline),
// hands each to its handler with an exchange to answer through, writes the
// answers in order, and closes with a lingering close. Request handling
// itself is in the handlers (http/handlers.hpp).
#pragma once

#include "http/context.hpp"
#include "net/socket.hpp"

namespace hf::http {

// Serves HTTP on `socket` on c's thread until the peer leaves, the
// connection is upgraded, or the server stops. Call on c's thread. The
// socket is registered with c.ioc only when the session first waits on it
// (a request that came whole, answered at once or upgraded, never waits).
void start_session(context& c, net::detached_socket socket);

// Stops every HTTP session of `c`: idle ones close now, busy ones after
// their answer. Call on c's thread.
void stop_sessions(context& c);

}  // namespace hf::http
