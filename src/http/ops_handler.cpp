// Operations endpoints (docs/protocol.md section A): liveness, readiness and
// Prometheus metrics, for GET and HEAD.
#include <memory>

#include "broker/broker.hpp"
#include "http/handlers.hpp"
#include "net/jwks_fetcher.hpp"
#include "net/process_stats.hpp"
#include "net/webhook_sender.hpp"

// The project version (CMakeLists.txt sets it from project()).
#ifndef HOPEFLOW_VERSION
#define HOPEFLOW_VERSION "unknown"
#endif

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

// HEAD gets the GET answer, marked so that it is written without its body
// (docs/protocol.md section A).
response for_method(const request& req, response r) {
  r.head = req.method == "HEAD";
  return r;
}

}  // namespace

void handle_healthz(context&, const request& req, exchange_ptr x) {
  x->respond(for_method(req, text_response(200, "ok")));
}

void handle_readyz(context& c, const request& req, exchange_ptr x) {
  switch (readiness_of(c)) {
    case readiness::ready:
      return x->respond(for_method(req, text_response(200, "ready")));
    case readiness::draining:
      return x->respond(for_method(req, text_response(503, "draining")));
    case readiness::redis_unavailable:
      return x->respond(for_method(req, text_response(503, "redis unavailable")));
  }
}

// Every worker copies its counters and shard gauges on its own thread
// (c.workers); the copies are summed on c's thread, which answers once the
// last has arrived.
void handle_metrics(context& c, const request& req, exchange_ptr x) {
  struct gather {
    metrics::counters c;
    metrics::gauges g;
    std::size_t left;
    exchange_ptr x;
    bool head;
  };
  auto acc = std::make_shared<gather>();
  acc->left = c.workers.size();
  acc->x = std::move(x);
  acc->head = req.method == "HEAD";  // req is not valid once this returns
  acc->g.version = HOPEFLOW_VERSION;
  acc->g.process = net::read_process_sample();
  auto status = c.broker.status();
  acc->g.ready = readiness_of(c) == readiness::ready;
  acc->g.cluster = status.state;
  acc->g.cluster_rtt_seconds = status.publish_rtt_seconds;
  acc->g.cluster_rtt_count = status.publish_rtt_count;
  acc->g.duplicate_node_id = status.duplicate_node_id;
  acc->g.unreachable_masters = status.unreachable_masters;
  if (c.jwks) acc->c.jwks_fetches = c.jwks->counts();
  if (c.webhooks) acc->g.webhooks = c.webhooks->sample();
  c.workers.sample_all(c.ioc, [acc](const worker_sample& s) {
    acc->c.add(s.counters);
    acc->g.sockets += s.sockets;
    acc->g.users += s.users;
    acc->g.pending_publishes += s.pending_publishes;
    acc->g.http_connections += s.http_connections;
    if (--acc->left) return;
    acc->x->respond({.status = 200,
                     .kind = body_kind::metrics,
                     .body = metrics::render_prometheus(acc->c, acc->g),
                     .keep_alive = true,
                     .extra_headers = {},
                     .head = acc->head});
  });
}

}  // namespace hf::http
