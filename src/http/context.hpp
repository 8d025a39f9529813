// What the HTTP layer of one worker thread uses: its sessions and handlers
// get a context, not the worker. Built by app/, one per worker thread; what
// it refers to outlives every session. Used on that worker's thread only,
// except the process-wide atomics (any thread) and what says otherwise.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <functional>
#include <unordered_set>

#include "metrics/metrics.hpp"
#include "net/socket.hpp"
#include "ws/handshake.hpp"

namespace boost::asio {
class io_context;
}

namespace hf::config {
struct config;
}
namespace hf::auth {
class token_cache;
}
namespace hf::broker {
class broker;
}
namespace hf::net {
class jwks_fetcher;
class webhook_sender;
}  // namespace hf::net

namespace hf::http {

class session;

// The configuration the HTTP layer reads (see config::config).
struct settings {
  std::size_t max_header_bytes;               // request line + headers: 431 above
  std::size_t max_body_bytes;                 // POST /publish body: 413 above
  std::size_t max_uri_bytes;                  // request target: 414 above
  std::chrono::milliseconds request_timeout;  // whole request; also keep-alive idle
  std::chrono::milliseconds ack_timeout;      // a publish's longest wait for acks
  std::size_t max_results_bytes;              // a publish's results, all its users' together
  bool publisher_tokens_only;                 // PUBLISH_SECRET set: 403 to end-user tokens
  bool compression;                           // permessage-deflate offered to upgrades
  bool console;                               // GET /console served
  bool serve_sdk;                             // GET /sdk/realtime.js served
};
settings settings_of(const config::config& cfg);

// One worker's share of /metrics, taken on that worker's thread.
struct worker_sample {
  metrics::counters counters;  // heap_allocations: that thread's
  std::size_t sockets = 0;
  std::size_t users = 0;
  std::size_t pending_publishes = 0;
  std::size_t http_connections = 0;
};

// Every worker of the process, as /metrics sees them. Implemented by app/.
class worker_sampler {
 public:
  virtual ~worker_sampler() = default;
  // How many samples sample_all delivers.
  virtual std::size_t size() const = 0;
  // Takes a worker_sample of every worker on that worker's own thread and
  // passes each to `each` on `home`'s thread (once per worker, in any order).
  // Call on home's thread.
  virtual void sample_all(boost::asio::io_context& home,
                          std::function<void(const worker_sample&)> each) = 0;
};

// Hands an authenticated upgrade to the WebSocket layer on the worker whose
// shard owns up.user_id (this one or another). Installed by app/; called on
// the upgrading session's thread, with the connection's descriptor (no
// io_context watches it; the hand-off owns it).
using upgrade_handoff = std::function<void(int, ws::upgrade)>;

struct context {
  boost::asio::io_context& ioc;        // the worker's: sessions run and answers are written on it
  settings cfg;                        // copied at start-up
  auth::token_cache& tokens;           // the worker's verified tokens (authenticate)
  metrics::counters& metrics;          // the worker's counters
  broker::broker& broker;              // where publishes go; its status for /readyz and /metrics
  worker_sampler& workers;             // /metrics: every worker's counters
  upgrade_handoff hand_off;            // an upgrade, to the owning shard's WebSocket layer
  const std::atomic<bool>& stopping;   // shutdown began: upgrades get 503
  const std::atomic<bool>& not_ready;  // drain announced: /readyz says 503
  std::atomic<long>& live_sessions;    // open connections of the process
  const net::jwks_fetcher* jwks = nullptr;  // JWKS_URL: its fetches count in /metrics
  net::webhook_sender* webhooks = nullptr;  // WEBHOOK_URL (section 14); any thread may use it
  // The HTTP sessions alive on this thread (shutdown closes the idle ones,
  // /metrics counts them).
  std::unordered_set<session*> sessions;
};

}  // namespace hf::http
