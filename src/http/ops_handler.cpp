// Operations endpoints (not in the wire contract): liveness, readiness and
// Prometheus metrics.
#include <memory>

#include "broker/broker.hpp"
#include "http/handlers.hpp"
#include "net/jwks_fetcher.hpp"

namespace hf::http {
namespace {

enum class readiness { ready, draining, redis_unavailable };

// The one readiness rule, for /readyz and the hopeflow_ready gauge: not
// draining (nor announced to drain), and in a cluster, connected to Redis.
readiness readiness_of(const context& c) {
  if (c.stopping || c.not_ready) return readiness::draining;
  if (c.broker.status().state == metrics::cluster_state::disconnected)
    return readiness::redis_unavailable;
  return readiness::ready;
}

}  // namespace

void handle_healthz(context&, const request&, exchange_ptr x) {
  x->respond(text_response(200, "ok"));
}

void handle_readyz(context& c, const request&, exchange_ptr x) {
  switch (readiness_of(c)) {
    case readiness::ready:
      return x->respond(text_response(200, "ready"));
    case readiness::draining:
      return x->respond(text_response(503, "draining"));
    case readiness::redis_unavailable:
      return x->respond(text_response(503, "redis unavailable"));
  }
}

// Every worker copies its counters and shard gauges on its own thread
// (c.workers); the copies are summed on c's thread, which answers once the
// last has arrived.
void handle_metrics(context& c, const request&, exchange_ptr x) {
  struct gather {
    metrics::counters c;
    metrics::gauges g;
    std::size_t left;
    exchange_ptr x;
  };
  auto acc = std::make_shared<gather>();
  acc->left = c.workers.size();
  acc->x = std::move(x);
  auto status = c.broker.status();
  acc->g.ready = readiness_of(c) == readiness::ready;
  acc->g.cluster = status.state;
  acc->g.cluster_rtt_seconds = status.publish_rtt_seconds;
  acc->g.cluster_rtt_count = status.publish_rtt_count;
  acc->g.duplicate_node_id = status.duplicate_node_id;
  acc->g.unreachable_masters = status.unreachable_masters;
  if (c.jwks) acc->c.jwks_fetches = c.jwks->counts();
  c.workers.sample_all(c.ioc, [acc](const worker_sample& s) {
    acc->c.add(s.counters);
    acc->g.sockets += s.sockets;
    acc->g.users += s.users;
    acc->g.pending_publishes += s.pending_publishes;
    acc->g.http_connections += s.http_connections;
    if (--acc->left) return;
    acc->x->respond(
        {200, body_kind::metrics, metrics::render_prometheus(acc->c, acc->g), true, {}});
  });
}

}  // namespace hf::http
