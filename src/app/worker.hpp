// A worker thread's state and the process-wide flags its sessions share,
// and the /metrics sampler over every worker. Built and wired by
// app/server.cpp; a worker's members are touched only on its own thread
// (except through asio::post), the flags of process_state by any thread.
#pragma once

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <cstddef>
#include <functional>
#include <memory>
#include <vector>

#include "auth/jwt.hpp"
#include "auth/token_cache.hpp"
#include "broker/broker.hpp"
#include "config/config.hpp"
#include "core/alloc_count.hpp"
#include "http/context.hpp"
#include "http/session.hpp"
#include "hub/shard.hpp"
#include "metrics/metrics.hpp"
#include "net/accept_context.hpp"
#include "net/ready_set.hpp"
#include "ws/session.hpp"

namespace hf::app {
namespace asio = boost::asio;

// Process-wide state the sessions share (atomics: any thread).
struct process_state {
  std::atomic<bool> stopping{false};   // set once by shutdown, read by sessions
  std::atomic<bool> not_ready{false};  // SIGTERM seen: /readyz says 503 (drain notice)
  std::atomic<long> live_sessions{0};  // connections still open (the drain waits for 0)
};

// One worker thread: one io_context running one hub shard; its sessions are
// created, run and destroyed on that thread only. The worker owns what only
// its thread touches (token cache, counters) and gives each layer a narrow
// context instead of itself: the listener an accept_context, HTTP sessions
// and handlers an http::context, WebSocket sessions a ws::session_context.
struct worker {
  worker(std::size_t i, asio::io_context& c, hub::shard& s, const config::config& cfg,
         const auth::jwt_verifier& verifier, broker::broker& b, broker::presence& p,
         process_state& ps, http::worker_sampler& all)
      : index(i),
        ioc(c),
        shard(s),
        tokens(verifier),
        ready(std::make_unique<net::ready_set>(c)),
        accept_ctx{.ioc = c,
                   .ready = *ready,
                   .max_connections = cfg.max_connections,
                   .live_sessions = ps.live_sessions,
                   .metrics = metrics,
                   .serve = {}},
        http_ctx{.ioc = c,
                 .cfg = http::settings_of(cfg),
                 .tokens = tokens,
                 .metrics = metrics,
                 .broker = b,
                 .workers = all,
                 .hand_off = {},
                 .stopping = ps.stopping,
                 .not_ready = ps.not_ready,
                 .live_sessions = ps.live_sessions,
                 .jwks = nullptr,
                 .sessions = {}},
        ws_ctx{.ioc = c,
               .ready = *ready,
               .cfg = ws::limits_of(cfg),
               .shard = s,
               .metrics = metrics,
               .presence = p,
               .stopping = ps.stopping,
               .live_sessions = ps.live_sessions} {
    accept_ctx.serve = [this](net::detached_socket socket) {
      http::start_session(http_ctx, socket);
    };
  }
  worker(const worker&) = delete;
  worker& operator=(const worker&) = delete;

  std::size_t index;  // = its shard's index in the hub
  asio::io_context& ioc;
  hub::shard& shard;
  auth::token_cache tokens;   // verified tokens, so repeat callers skip HMAC + JSON
  metrics::counters metrics;  // this thread's share of /metrics
  // The WebSockets' epoll set; reset (abandoning the sockets still in it)
  // before the io_context is destroyed.
  std::unique_ptr<net::ready_set> ready;
  net::accept_context accept_ctx;  // for its listener and TLS fronts
  http::context http_ctx;          // for its HTTP sessions and handlers
  ws::session_context ws_ctx;      // for its WebSocket sessions
};

// /metrics: every worker's sample, taken on its own thread.
class all_workers final : public http::worker_sampler {
 public:
  std::size_t size() const override { return list_.size(); }

  void sample_all(asio::io_context& home,
                  std::function<void(const http::worker_sample&)> each) override {
    auto shared =
        std::make_shared<std::function<void(const http::worker_sample&)>>(std::move(each));
    for (worker* k : list_) {
      asio::post(k->ioc, [k, &home, shared] {
        http::worker_sample s;
        s.counters = k->metrics;
        s.counters.heap_allocations = core::thread_allocations();
        auto st = k->shard.stats();
        s.sockets = st.connections;
        s.users = st.users;
        s.pending_publishes = st.pending_publishes;
        s.http_connections = k->http_ctx.sessions.size();
        asio::post(home, [s = std::move(s), shared] { (*shared)(s); });
      });
    }
  }

  std::vector<worker*> list_;  // index = shard index
};

}  // namespace hf::app
