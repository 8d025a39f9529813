// One HTTP/1.1 connection: routing, POST /publish, preflight, 404, and the
// hand-off of WebSocket upgrades to the shard that owns the user.
#pragma once

#include <boost/asio/ip/tcp.hpp>

namespace hf::net {

struct worker;

// Serves HTTP on `socket` on w's thread until the peer leaves, the
// connection is upgraded, or the server stops.
void start_http_session(worker& w, boost::asio::ip::tcp::socket socket);

}  // namespace hf::net
