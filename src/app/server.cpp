#include "app/server.hpp"

#include <spdlog/spdlog.h>

#include <atomic>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <csignal>
#include <fstream>
#include <functional>
#include <iterator>
#include <memory>
#include <random>
#include <thread>

#include "app/worker.hpp"
#include "auth/jwt.hpp"
#include "auth/token_cache.hpp"
#include "broker/local_broker.hpp"
#include "broker/redis_broker.hpp"
#include "core/alloc_count.hpp"
#include "http/context.hpp"
#include "http/session.hpp"
#include "hub/hub.hpp"
#include "metrics/metrics.hpp"
#include "net/accept_context.hpp"
#include "net/jwks_fetcher.hpp"
#include "net/listener.hpp"
#include "net/socket.hpp"
#include "net/tls_front.hpp"
#include "net/webhook_sender.hpp"
#include "ws/session.hpp"

namespace hf::app {
namespace {

// At shutdown, webhook events still queued get at most this long (within
// the drain's grace) before the sender stops: those of the publishes the
// drain answered usually go in a few ms; a dead receiver does not hold the
// shutdown.
constexpr std::chrono::milliseconds webhook_flush{2000};

}  // namespace
namespace asio = boost::asio;

struct server::impl {
  explicit impl(config::config c)
      : cfg(std::move(c)),
        verifier(auth::verifier_options{cfg.jwt_secret, cfg.publish_secret, cfg.user_claim,
                                        cfg.jwt_issuer, cfg.jwt_audience}) {
    for (unsigned i = 0; i < cfg.threads; ++i) {
      // Each io_context is run by exactly one thread, and its sockets are
      // used on that thread only (an upgrade's descriptor leaves Asio and
      // goes to its worker's own epoll set, net/ready_set.hpp): Asio skips the per-socket lock it
      // takes on every read and write. Posting from other threads and
      // timers stay locked.
      contexts.push_back(std::make_unique<asio::io_context>(BOOST_ASIO_CONCURRENCY_HINT_UNSAFE_IO));
      shards.push_back(std::make_unique<hub::shard>(*contexts.back(), shard_limits()));
    }
    std::vector<hub::shard*> raw;
    for (auto& s : shards) raw.push_back(s.get());
    the_hub = std::make_unique<hub::hub>(std::move(raw));
    broker::broker* b;
    broker::presence* p;
    if (cfg.redis_url.empty() && cfg.redis_cluster_nodes.empty()) {
      local = std::make_unique<broker::local_broker>(*the_hub, cfg.idempotency_ttl);
      b = local.get();
      p = local.get();
    } else {
      broker::redis_options ro;
      if (!cfg.redis_url.empty() && !config::parse_redis_url(cfg.redis_url, ro.where))
        throw std::runtime_error("REDIS_URL: cannot parse '" + cfg.redis_url + "'");
      if (!cfg.redis_cluster_nodes.empty() &&
          !config::parse_cluster_nodes(cfg.redis_cluster_nodes, ro.cluster_nodes))
        throw std::runtime_error("REDIS_CLUSTER_NODES: cannot parse the list");
      ro.node_id = cfg.node_id;
      ro.required = cfg.redis_required;
      ro.results = shard_limits().results;
      ro.history_size = cfg.history_size;
      ro.history_ttl = cfg.history_ttl;
      ro.history_max_bytes = std::min(cfg.history_max_bytes, cfg.max_queued_bytes);
      ro.read_max_bytes = cfg.max_queued_bytes;
      ro.idempotency_ttl = cfg.idempotency_ttl;
      cluster = std::make_unique<broker::redis_broker>(*the_hub, ro);
      for (auto& s : shards) s->use_stream_source(cluster.get());
      b = cluster.get();
      p = cluster.get();
    }
    the_broker = b;
    if (!cfg.webhook_url.empty())  // throws for a URL it cannot use
      webhooks = std::make_unique<net::webhook_sender>(
          net::webhook_options{cfg.webhook_url, cfg.webhook_secret}, b->outbox());
    for (unsigned i = 0; i < cfg.threads; ++i)
      workers.push_back(std::make_unique<worker>(i, *contexts[i], *shards[i], cfg, verifier, *b, *p,
                                                 state, sampler));
    for (auto& w : workers) {
      sampler.list_.push_back(w.get());
      w->http_ctx.hand_off = [this, wk = w.get()](int fd, ws::upgrade up) {
        hand_off(*wk, fd, std::move(up));
      };
      w->shard.use_counters(&w->metrics);
      if (webhooks) {  // section 14
        w->http_ctx.webhooks = webhooks.get();
        w->shard.use_late_acks(cfg.late_ack, [s = webhooks.get()](protocol::late_ack a) {
          s->late_ack(std::move(a));
        });
      }
      // A `refresh` is verified on the worker's thread; like an upgrade's,
      // its token is seen about once, so not cached.
      w->shard.use_token_check([wk = w.get()](std::string_view token) {
        return wk->tokens.verify_once(token, unix_now());
      });
    }
  }

  // An upgrade read on `from`'s thread goes to the WebSocket layer of the
  // worker whose shard owns the user: there at once when that is `from`,
  // else the descriptor is posted to that worker (the user's state never
  // changes thread).
  void hand_off(worker& from, int fd, ws::upgrade up) {
    std::size_t owner = the_hub->owner_index(up.user_id);
    // WebSockets wait in their worker's own epoll set (net/ready_set.hpp).
    if (owner == from.index) return ws::start_session(from.ws_ctx, fd, std::move(up));
    worker& target = *workers[owner];
    asio::post(target.ioc, [&target, fd, up = std::move(up)]() mutable {
      ws::start_session(target.ws_ctx, fd, std::move(up));
    });
  }

  static std::int64_t unix_now() {
    return std::chrono::duration_cast<std::chrono::seconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  }

  // RS256/ES256 keys from JWT_PUBLIC_KEY_FILE and JWKS_FILE, then JWKS_URL
  // (its keys join the files' on every fetch). Throws std::runtime_error with
  // one line when a file is unusable, or when no key source works at all.
  void load_keys() {
    auto read = [](const std::string& path) {
      std::ifstream in(path);
      if (!in) throw std::runtime_error("cannot read '" + path + "'");
      return std::string(std::istreambuf_iterator<char>(in), {});
    };
    if (!cfg.jwt_public_key_file.empty()) {
      std::string why;
      auto k = auth::parse_pem_public_key(read(cfg.jwt_public_key_file), why);
      if (!k)
        throw std::runtime_error("JWT_PUBLIC_KEY_FILE '" + cfg.jwt_public_key_file + "': " + why);
      file_keys.push_back(std::move(*k));
    }
    if (!cfg.jwks_file.empty()) {
      auto keys = auth::parse_jwks(read(cfg.jwks_file));
      if (keys.error || keys.keys.empty())
        throw std::runtime_error("JWKS_FILE '" + cfg.jwks_file +
                                 "': " + keys.error.value_or("no usable RS256/ES256 key"));
      for (auto& k : keys.keys) file_keys.push_back(std::move(k));
    }
    verifier.set_keys(file_keys);
    if (cfg.jwks_url.empty()) return;
    jwks = std::make_unique<net::jwks_fetcher>(cfg.jwks_url, cfg.jwks_refresh,
                                               [this](std::vector<auth::public_key> fetched) {
                                                 std::vector<auth::public_key> all = file_keys;
                                                 for (auto& k : fetched)
                                                   all.push_back(std::move(k));
                                                 verifier.set_keys(std::move(all));
                                               });
    verifier.on_unknown_kid([j = jwks.get()] { j->refetch_soon(); });
    for (auto& w : workers) w->http_ctx.jwks = jwks.get();
    if (!jwks->start() && cfg.jwt_secret.empty() && file_keys.empty())
      throw std::runtime_error("JWKS_URL '" + cfg.jwks_url +
                               "' gave no keys at start, and no JWT_SECRET or key file is set");
  }

  hub::shard_limits shard_limits() const {
    return {cfg.max_filters_per_socket,
            {cfg.max_ack_result_bytes, cfg.max_results_bytes},
            {cfg.history_size, cfg.history_ttl, cfg.history_max_bytes / cfg.threads},
            cfg.token_expiry == "close",
            cfg.max_filters_per_user,
            cfg.max_queued_bytes};
  }

  // Sessions live in handlers owned by the io_contexts and point at the
  // workers' contexts and the process state: destroy the io_contexts (and
  // with them every session) first.
  ~impl() {
    // The sender's queued handlers may hold publishes' exchanges, which
    // point at the workers' contexts: it goes first, once the broker's
    // thread (which posts to it) has stopped. The broker itself stays until
    // the sessions are gone (they tell it their sockets closed).
    if (cluster) cluster->stop();
    webhooks.reset();
    guards.clear();
    listeners.clear();
    heartbeat_timers.clear();
    expiry_timers.clear();
    drain_timers.clear();
    // The WebSockets still in a worker's epoll set are abandoned while the
    // io_contexts (and the broker they tell) still exist.
    for (auto& w : workers) w->ready.reset();
    for (auto& c : contexts) c.reset();
  }

  config::config cfg;
  auth::jwt_verifier verifier;
  std::vector<std::unique_ptr<asio::io_context>> contexts;
  std::vector<std::unique_ptr<hub::shard>> shards;
  std::unique_ptr<hub::hub> the_hub;
  std::unique_ptr<broker::local_broker> local;     // the broker of a single node, or
  std::unique_ptr<broker::redis_broker> cluster;   // the broker in cluster mode
  std::shared_ptr<boost::asio::ssl::context> tls;  // when TLS is configured
  broker::broker* the_broker = nullptr;            // local or cluster, whichever runs
  process_state state;
  all_workers sampler;
  std::vector<auth::public_key> file_keys;  // JWT_PUBLIC_KEY_FILE, JWKS_FILE
  std::unique_ptr<net::jwks_fetcher> jwks;  // JWKS_URL
  // WEBHOOK_URL (section 14); after the brokers: it uses the cluster's outbox.
  std::unique_ptr<net::webhook_sender> webhooks;
  std::vector<std::unique_ptr<worker>> workers;
  std::vector<std::shared_ptr<net::listener>> listeners;
  std::vector<asio::executor_work_guard<asio::io_context::executor_type>> guards;
  std::vector<std::unique_ptr<asio::steady_timer>> heartbeat_timers;  // one per worker
  std::vector<std::unique_ptr<asio::steady_timer>> expiry_timers;     // TOKEN_EXPIRY=close
  std::vector<std::unique_ptr<asio::steady_timer>> drain_timers;      // one per worker
  std::vector<std::thread> threads;
  std::uint16_t port = 0;
};

server::server(config::config cfg) : impl_(std::make_unique<impl>(std::move(cfg))) {}
server::~server() {
  if (!impl_->threads.empty()) stop(std::chrono::milliseconds(0));
}

void server::start() {
  auto& m = *impl_;
  if (!m.cfg.tls_cert_file.empty()) {
    m.tls = net::make_tls_context(m.cfg.tls_cert_file, m.cfg.tls_key_file);  // throws with the file
    for (auto& w : m.workers) w->accept_ctx.tls = m.tls.get();
  }
  m.load_keys();                      // throws when a key source is unusable
  if (m.cluster) m.cluster->start();  // throws when REDIS_REQUIRED and unreachable
  if (m.webhooks) m.webhooks->start();
  std::uint16_t port = m.cfg.port;
  for (auto& w : m.workers) {
    // The first listener may pick a free port; the others share it.
    m.listeners.push_back(
        net::listener::open(w->accept_ctx, m.cfg.host, port, m.listeners.empty()));
    port = m.listeners.back()->port();
  }
  m.port = port;
  if (m.cfg.heartbeat_interval.count() > 0)
    for (std::size_t i = 0; i < m.workers.size(); ++i) {
      m.heartbeat_timers.push_back(std::make_unique<asio::steady_timer>(*m.contexts[i]));
      asio::post(*m.contexts[i], [this, i] { schedule_heartbeat(i); });
    }
  if (m.cfg.token_expiry == "close")
    for (std::size_t i = 0; i < m.workers.size(); ++i) {
      m.expiry_timers.push_back(std::make_unique<asio::steady_timer>(*m.contexts[i]));
      asio::post(*m.contexts[i], [this, i] { schedule_expiry(i); });
    }
  for (std::size_t i = 0; i < m.workers.size(); ++i) {
    m.guards.push_back(asio::make_work_guard(*m.contexts[i]));
    asio::post(*m.contexts[i], [l = m.listeners[i]] { l->start(); });
    m.threads.emplace_back([ctx = m.contexts[i].get()] {
      for (;;) {
        try {
          ctx->run();
          return;
        } catch (const std::exception& e) {
          // Last resort: a handler threw. Log and keep the worker alive.
          spdlog::error("unhandled exception in worker: {}", e.what());
        }
      }
    });
  }
  spdlog::info("listening on {}:{} with {} worker threads{}", m.cfg.host, m.port, m.workers.size(),
               m.tls ? " (TLS)" : "");
}

// One sweep per worker per interval: no timer per socket (a per-socket
// timer costs ~0.5 KB of memory, measured; a sweep costs nothing while idle).
void server::schedule_heartbeat(std::size_t i) {
  auto& m = *impl_;
  auto& t = *m.heartbeat_timers[i];
  t.expires_after(m.cfg.heartbeat_interval);
  t.async_wait([this, i](boost::system::error_code ec) {
    if (ec || impl_->state.stopping) return;
    std::size_t dead = impl_->workers[i]->shard.sweep_heartbeats();
    if (dead) spdlog::info("heartbeat: dropped {} silent sockets", dead);
    ws::after_heartbeat_sweep();
    schedule_heartbeat(i);
  });
}

// TOKEN_EXPIRY=close: each worker closes its expired sockets once a second
// (exp has a resolution of one second); no timer per socket.
void server::schedule_expiry(std::size_t i) {
  auto& t = *impl_->expiry_timers[i];
  t.expires_after(std::chrono::seconds(1));
  t.async_wait([this, i](boost::system::error_code ec) {
    if (ec || impl_->state.stopping) return;
    std::size_t closed = impl_->workers[i]->shard.sweep_expired(impl::unix_now());
    if (closed) spdlog::info("token expiry: closed {} sockets (4001)", closed);
    schedule_expiry(i);
  });
}

std::uint16_t server::port() const { return impl_->port; }

void server::stop() { stop(impl_->cfg.drain_timeout); }

void server::announce_drain() { impl_->state.not_ready = true; }

// Closes w's sockets with 1001 a batch at a time, every ~10 ms (with jitter)
// across DRAIN_SPREAD_MS, so that clients do not all reconnect in the same
// millisecond.
void server::drain_batch(std::size_t i, std::size_t per_batch) {
  auto& m = *impl_;
  std::size_t left = m.workers[i]->shard.close_some(per_batch, metrics::close_reason::shutdown);
  if (left == 0) return;
  thread_local std::minstd_rand jitter(static_cast<unsigned>(i) * 7919u + 1u);
  auto& t = *m.drain_timers[i];
  t.expires_after(std::chrono::milliseconds(5 + jitter() % 11));
  t.async_wait([this, i, per_batch](boost::system::error_code ec) {
    if (!ec) drain_batch(i, per_batch);
  });
}

void server::stop(std::chrono::milliseconds grace) {
  auto& m = *impl_;
  if (m.threads.empty()) return;
  m.state.stopping = true;
  m.the_broker->drain();  // publishes taken here are answered with what they have
  for (std::size_t i = 0; i < m.workers.size(); ++i)
    m.drain_timers.push_back(std::make_unique<asio::steady_timer>(*m.contexts[i]));
  for (std::size_t i = 0; i < m.workers.size(); ++i) {
    asio::post(*m.contexts[i], [this, &m, i] {
      if (i < m.heartbeat_timers.size()) m.heartbeat_timers[i]->cancel();
      if (i < m.expiry_timers.size()) m.expiry_timers[i]->cancel();
      m.listeners[i]->stop();
      auto& shard = m.workers[i]->shard;
      shard.stop_publishes();  // every in-flight publish is answered now
      http::stop_sessions(m.workers[i]->http_ctx);
      std::size_t open = shard.stats().connections;
      std::size_t batches = std::max<std::int64_t>(1, m.cfg.drain_spread.count() / 10);
      drain_batch(i, std::max<std::size_t>(1, (open + batches - 1) / batches));
    });
  }
  // Let answers and close handshakes go out; peers that do not answer our
  // close frame are cut off at the drain deadline.
  auto until = std::chrono::steady_clock::now() + grace;
  while (m.state.live_sessions.load() > 0 && std::chrono::steady_clock::now() < until)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  m.guards.clear();
  for (auto& c : m.contexts) c->stop();
  for (auto& t : m.threads) t.join();
  m.threads.clear();
  // Events of the publishes answered during the drain get a moment to go;
  // the sender stops before the broker, so that what it delivered is
  // forgotten in Redis (XACK) rather than adopted and sent again.
  if (m.webhooks) m.webhooks->flush(std::min<std::chrono::milliseconds>(grace, webhook_flush));
  if (m.webhooks) m.webhooks->stop();
  if (m.cluster) m.cluster->stop();
  if (m.jwks) m.jwks->stop();
  spdlog::info("stopped");
}

void block_termination_signals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

int wait_for_termination_signal() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  int sig = 0;
  sigwait(&set, &sig);
  return sig;
}

}  // namespace hf::app
