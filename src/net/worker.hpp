// What the sessions of one worker thread share. A worker is one thread
// running one io_context that owns one hub shard; its sessions are created,
// run and destroyed on that thread only.
#pragma once

#include <atomic>
#include <cstddef>
#include <unordered_set>
#include <vector>

#include "auth/jwt.hpp"
#include "auth/token_cache.hpp"
#include "broker/broker.hpp"
#include "config/config.hpp"
#include "hub/hub.hpp"
#include "metrics/metrics.hpp"

namespace boost::asio {
class io_context;
namespace ssl {
class context;
}
}  // namespace boost::asio

namespace hf::http {
class session;
}

namespace hf::net {

class jwks_fetcher;
struct worker;

// Process-wide services, immutable after start-up except the atomics.
struct services {
  const config::config& cfg;
  const auth::jwt_verifier& verifier;
  broker::broker& broker;      // where publishes go
  broker::presence& presence;  // where sockets announce themselves
  const hub::hub& hub;
  std::vector<worker*> workers;              // index = shard index
  boost::asio::ssl::context* tls = nullptr;  // set when TLS_CERT_FILE/TLS_KEY_FILE are
  const jwks_fetcher* jwks = nullptr;        // set when JWKS_URL is (its fetch counts)
  std::atomic<bool> stopping{false};         // set once by shutdown, read by sessions
  std::atomic<bool> not_ready{false};        // SIGTERM seen: /readyz says 503 (drain notice)
  std::atomic<long> live_sessions{0};        // connections still open (the drain waits for 0)
};

struct worker {
  worker(std::size_t i, boost::asio::io_context& c, hub::shard& s, services& v)
      : index(i), ioc(c), shard(s), svc(v), tokens(v.verifier) {}

  std::size_t index;
  boost::asio::io_context& ioc;
  hub::shard& shard;
  services& svc;
  // Everything below: touched only on this worker's thread.
  auth::token_cache tokens;   // verified tokens, so repeat callers skip HMAC + JSON
  metrics::counters metrics;  // this thread's share of /metrics
  // HTTP sessions alive on this thread, so shutdown can close idle keep-alive
  // connections.
  std::unordered_set<http::session*> http_sessions;
};

}  // namespace hf::net
