// What a worker's listener and its TLS fronts use, instead of the worker:
// its io_context, the connection cap and count, where a refusal is counted,
// the TLS context, and what serves an accepted connection (installed by
// app/: an HTTP session; the transport layer does not know HTTP). Built by
// app/, one per worker; used on that worker's thread only, except the
// process-wide atomic.
#pragma once

#include <atomic>
#include <cstddef>
#include <functional>

#include "net/socket.hpp"

namespace boost::asio {
class io_context;
namespace ssl {
class context;
}
}  // namespace boost::asio

namespace hf::net {
class ready_set;
}
namespace hf::metrics {
struct counters;
}

namespace hf::net {

struct accept_context {
  boost::asio::io_context& ioc;      // the worker's: accepts, handshakes and pumps run on it
  ready_set& ready;                  // the worker's: where the listening socket waits
  std::size_t max_connections;       // MAX_CONNECTIONS: 503 at this many (0: no cap)
  std::atomic<long>& live_sessions;  // open connections of the process (the drain waits for 0)
  metrics::counters& metrics;        // the worker's counters (refusals)
  // Serves a connection: an accepted TCP socket, or the plaintext end of a
  // TLS front's socketpair, not yet registered with ioc. Called on ioc's
  // thread.
  std::function<void(detached_socket)> serve;
  boost::asio::ssl::context* tls = nullptr;  // TLS_CERT_FILE/TLS_KEY_FILE: TLS first
};

}  // namespace hf::net
