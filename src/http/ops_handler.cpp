// Operations endpoints (not in the wire contract): liveness, readiness and
// Prometheus metrics.
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <memory>

#include "core/alloc_count.hpp"
#include "http/handlers.hpp"
#include "net/jwks_fetcher.hpp"
#include "net/worker.hpp"

namespace hf::http {
namespace {

enum class readiness { ready, draining, redis_unavailable };

// The one readiness rule, for /readyz and the hopeflow_ready gauge: not
// draining (nor announced to drain), and in a cluster, connected to Redis.
readiness readiness_of(const net::services& svc) {
  if (svc.stopping || svc.not_ready) return readiness::draining;
  if (svc.broker.status().state == metrics::cluster_state::disconnected)
    return readiness::redis_unavailable;
  return readiness::ready;
}

}  // namespace

void handle_healthz(net::worker&, const request&, exchange_ptr x) {
  x->respond(text_response(200, "ok"));
}

void handle_readyz(net::worker& w, const request&, exchange_ptr x) {
  switch (readiness_of(w.svc)) {
    case readiness::ready:
      return x->respond(text_response(200, "ready"));
    case readiness::draining:
      return x->respond(text_response(503, "draining"));
    case readiness::redis_unavailable:
      return x->respond(text_response(503, "redis unavailable"));
  }
}

// Every worker copies its counters and shard gauges on its own thread; the
// copies are summed on w's thread, which answers once the last has arrived.
void handle_metrics(net::worker& w, const request&, exchange_ptr x) {
  struct gather {
    metrics::counters c;
    metrics::gauges g;
    std::size_t left;
    exchange_ptr x;
  };
  auto acc = std::make_shared<gather>();
  acc->left = w.svc.workers.size();
  acc->x = std::move(x);
  auto status = w.svc.broker.status();
  acc->g.ready = readiness_of(w.svc) == readiness::ready;
  acc->g.cluster = status.state;
  acc->g.cluster_rtt_seconds = status.publish_rtt_seconds;
  acc->g.cluster_rtt_count = status.publish_rtt_count;
  acc->g.duplicate_node_id = status.duplicate_node_id;
  acc->g.unreachable_masters = status.unreachable_masters;
  if (w.svc.jwks) acc->c.jwks_fetches = w.svc.jwks->counts();
  for (net::worker* k : w.svc.workers) {
    boost::asio::post(k->ioc, [k, &w, acc] {
      metrics::counters copy = k->metrics;
      copy.heap_allocations = core::thread_allocations();
      auto st = k->shard.stats();
      std::size_t http = k->http_sessions.size();
      boost::asio::post(w.ioc, [copy, st, http, acc] {
        acc->c.add(copy);
        acc->g.sockets += st.connections;
        acc->g.users += st.users;
        acc->g.pending_publishes += st.pending_publishes;
        acc->g.http_connections += http;
        if (--acc->left) return;
        acc->x->respond(
            {200, body_kind::metrics, metrics::render_prometheus(acc->c, acc->g), true, {}});
      });
    });
  }
}

}  // namespace hf::http
