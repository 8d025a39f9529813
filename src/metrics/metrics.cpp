#include "metrics/metrics.hpp"

#include <cstdio>

namespace hf::metrics {

std::optional<auth_failure> auth_failure_of(const boost::system::error_code& ec) noexcept {
  if (ec.category() != hopeflow_category()) return std::nullopt;
  // Every errc value is listed (no default), so -Wswitch flags a new one.
  switch (static_cast<errc>(ec.value())) {
    case errc::token_missing:
      return auth_failure::missing;
    case errc::token_malformed:
      return auth_failure::malformed;
    case errc::token_unsupported_alg:
      return auth_failure::unsupported_alg;
    case errc::token_bad_typ:
      return auth_failure::bad_typ;
    case errc::token_crit:
      return auth_failure::crit;
    case errc::token_bad_signature:
      return auth_failure::bad_signature;
    case errc::token_expired:
      return auth_failure::expired;
    case errc::token_not_yet_valid:
      return auth_failure::not_yet_valid;
    case errc::token_bad_claim:
      return auth_failure::bad_claim;
    case errc::token_no_user:
      return auth_failure::no_user;
    case errc::token_unknown_kid:
      return auth_failure::unknown_kid;
    case errc::token_publisher:
      return auth_failure::publisher_token;
    case errc::token_bad_device:
      return auth_failure::bad_claim;
    case errc::ok:
    case errc::unsupported_media_type:
    case errc::invalid_json_body:
    case errc::user_id_required:
    case errc::invalid_user_ids:
    case errc::invalid_ack_timeout:
    case errc::publish_forbidden:
    case errc::invalid_receipts:
    case errc::invalid_until:
    case errc::invalid_cancel:
    case errc::invalid_webhook:
    case errc::webhook_not_configured:
      return std::nullopt;
  }
  return std::nullopt;
}

void counters::add(const counters& o) {
  ws_connects += o.ws_connects;
  for (std::size_t i = 0; i < ws_closes.size(); ++i) ws_closes[i] += o.ws_closes[i];
  ws_bytes_in += o.ws_bytes_in;
  ws_bytes_out += o.ws_bytes_out;
  for (std::size_t i = 0; i < auth_failures.size(); ++i) auth_failures[i] += o.auth_failures[i];
  for (std::size_t i = 0; i < http_status.size(); ++i) http_status[i] += o.http_status[i];
  for (std::size_t i = 0; i < limits.size(); ++i) limits[i] += o.limits[i];
  publishes_answered += o.publishes_answered;
  publishes_no_target += o.publishes_no_target;
  publish_errors += o.publish_errors;
  for (std::size_t i = 0; i < publishes_degraded.size(); ++i)
    publishes_degraded[i] += o.publishes_degraded[i];
  publish_backstops += o.publish_backstops;
  for (std::size_t i = 0; i < completions.size(); ++i) completions[i] += o.completions[i];
  cancels_sent += o.cancels_sent;
  late_watches_refused += o.late_watches_refused;
  publishes_forbidden += o.publishes_forbidden;
  idempotent_replays += o.idempotent_replays;
  idempotency_conflicts += o.idempotency_conflicts;
  refreshes += o.refreshes;
  for (std::size_t i = 0; i < refresh_failures.size(); ++i)
    refresh_failures[i] += o.refresh_failures[i];
  for (std::size_t i = 0; i < jwks_fetches.size(); ++i) jwks_fetches[i] += o.jwks_fetches[i];
  results_dropped += o.results_dropped;
  for (std::size_t i = 0; i < latency.size(); ++i) latency[i] += o.latency[i];
  latency_sum += o.latency_sum;
  deliveries += o.deliveries;
  acks += o.acks;
  ack_deadlines += o.ack_deadlines;
  heap_allocations += o.heap_allocations;
}

void counters::observe_latency(double seconds) {
  std::size_t i = 0;
  while (i < latency_buckets.size() && seconds > latency_buckets[i]) ++i;
  ++latency[i];
  latency_sum += seconds;
}

namespace {

void metric(std::string& out, const char* name, const char* type, const char* help) {
  out += "# HELP ";
  out += name;
  out += ' ';
  out += help;
  out += "\n# TYPE ";
  out += name;
  out += ' ';
  out += type;
  out += '\n';
}
void sample(std::string& out, const char* name, const std::string& labels, double v) {
  char num[64];
  std::snprintf(num, sizeof num, "%.17g", v);
  out += name;
  if (!labels.empty()) out += "{" + labels + "}";
  out += ' ';
  out += num;
  out += '\n';
}

// A metric with one unlabelled sample.
void single(std::string& out, const char* name, const char* type, const char* help, double v) {
  metric(out, name, type, help);
  sample(out, name, "", v);
}

// A counter with one sample per value of an enum, labelled from its table
// (values and labels have the enum's size: label_table checks it).
template <std::size_t N>
void labelled(std::string& out, const char* name, const char* help, const char* label,
              const std::array<std::string_view, N>& labels,
              const std::array<std::uint64_t, N>& values) {
  metric(out, name, "counter", help);
  for (std::size_t i = 0; i < N; ++i)
    sample(out, name, std::string(label) + "=\"" + std::string(labels[i]) + "\"",
           double(values[i]));
}

// A label value as the text format writes it: backslash, double quote and
// line feed escaped.
std::string label_value(std::string_view v) {
  std::string out;
  for (char ch : v) {
    if (ch == '\\' || ch == '"') out += '\\';
    if (ch == '\n') {
      out += "\\n";
      continue;
    }
    out += ch;
  }
  return out;
}

}  // namespace

std::string render_prometheus(const counters& c, const gauges& g) {
  std::string o;
  metric(o, "hopeflow_build_info", "gauge", "Always 1; the version of this server.");
  sample(o, "hopeflow_build_info", "version=\"" + label_value(g.version) + "\"", 1);
  if (g.process) {
    const process_sample& p = *g.process;
    single(o, "process_cpu_seconds_total", "counter",
           "Total user and system CPU time spent in seconds.", p.cpu_seconds);
    single(o, "process_resident_memory_bytes", "gauge", "Resident memory size in bytes.",
           p.resident_bytes);
    single(o, "process_virtual_memory_bytes", "gauge", "Virtual memory size in bytes.",
           p.virtual_bytes);
    single(o, "process_open_fds", "gauge", "Number of open file descriptors.", p.open_fds);
    single(o, "process_max_fds", "gauge", "Maximum number of open file descriptors.", p.max_fds);
    single(o, "process_start_time_seconds", "gauge",
           "Start time of the process since unix epoch in seconds.", p.start_time_seconds);
  }
  single(o, "hopeflow_websockets", "gauge", "Open WebSocket connections.", double(g.sockets));
  single(o, "hopeflow_users", "gauge", "Users with at least one socket on this node.",
         double(g.users));
  single(o, "hopeflow_http_connections", "gauge", "Open HTTP (non-upgraded) connections.",
         double(g.http_connections));
  single(o, "hopeflow_pending_publishes", "gauge",
         "Publishes waiting for acks on this node's sockets.", double(g.pending_publishes));
  single(o, "hopeflow_ready", "gauge", "1 when /readyz answers 200.", g.ready ? 1 : 0);
  if (g.cluster != cluster_state::standalone) {
    single(o, "hopeflow_cluster_connected", "gauge", "1 when the Redis broker is connected.",
           g.cluster == cluster_state::connected ? 1 : 0);
    metric(o, "hopeflow_cluster_publish_rtt_seconds", "summary",
           "Round trips of PUBLISH to Redis.");
    sample(o, "hopeflow_cluster_publish_rtt_seconds_sum", "", g.cluster_rtt_seconds);
    sample(o, "hopeflow_cluster_publish_rtt_seconds_count", "", double(g.cluster_rtt_count));
    single(o, "hopeflow_cluster_duplicate_node_id", "gauge",
           "1 while another live node claims this node's NODE_ID.", g.duplicate_node_id ? 1 : 0);
    single(o, "hopeflow_cluster_redis_masters_unreachable", "gauge",
           "Redis Cluster masters this node cannot use now (their users are delivered to "
           "locally); 0 with one Redis.",
           double(g.unreachable_masters));
  }
  single(o, "hopeflow_websocket_connects_total", "counter", "WebSocket connections opened.",
         double(c.ws_connects));
  labelled(o, "hopeflow_websocket_closes_total", "WebSocket connections closed, by reason.",
           "reason", close_reason_labels, c.ws_closes);
  single(o, "hopeflow_websocket_bytes_received_total", "counter", "Bytes read from WebSockets.",
         double(c.ws_bytes_in));
  single(o, "hopeflow_websocket_bytes_sent_total", "counter", "Bytes written to WebSockets.",
         double(c.ws_bytes_out));
  labelled(o, "hopeflow_auth_failures_total", "Rejected tokens, by reason.", "reason",
           auth_failure_labels, c.auth_failures);
  metric(o, "hopeflow_http_responses_total", "counter", "HTTP answers, by status class.");
  for (std::size_t i = 1; i < c.http_status.size(); ++i)
    sample(o, "hopeflow_http_responses_total", "class=\"" + std::to_string(i) + "xx\"",
           double(c.http_status[i]));
  labelled(o, "hopeflow_limit_refusals_total", "Requests and sockets refused or closed by a limit.",
           "limit", limit_kind_labels, c.limits);
  metric(o, "hopeflow_publishes_total", "counter", "Publishes answered by this node, by outcome.");
  sample(o, "hopeflow_publishes_total", "outcome=\"delivered\"",
         double(c.publishes_answered - c.publishes_no_target));
  sample(o, "hopeflow_publishes_total", "outcome=\"no_target\"", double(c.publishes_no_target));
  sample(o, "hopeflow_publishes_total", "outcome=\"error\"", double(c.publish_errors));
  single(o, "hopeflow_deliveries_total", "counter", "Envelopes sent to this node's sockets.",
         double(c.deliveries));
  single(o, "hopeflow_acks_total", "counter", "Acks recorded from this node's sockets.",
         double(c.acks));
  labelled(o, "hopeflow_publishes_degraded_total",
           "Publishes answered with a hopeflow-degraded header, by reason.", "reason",
           degradation_labels, c.publishes_degraded);
  single(o, "hopeflow_publish_backstops_total", "counter",
         "Publishes answered by the session's backstop because nothing below answered in time.",
         double(c.publish_backstops));
  single(o, "hopeflow_publishes_forbidden_total", "counter",
         "Publishes refused with 403: valid tokens that are not publisher tokens (PUBLISH_SECRET).",
         double(c.publishes_forbidden));
  single(o, "hopeflow_idempotent_replays_total", "counter",
         "Publishes answered with the first answer of their Idempotency-Key (no delivery).",
         double(c.idempotent_replays));
  single(
      o, "hopeflow_idempotency_conflicts_total", "counter",
      "Publishes refused for their Idempotency-Key: 409 (still in flight) or 422 (another body).",
      double(c.idempotency_conflicts));
  single(o, "hopeflow_token_refreshes_total", "counter",
         "Tokens refreshed on open sockets (refresh messages answered refreshed).",
         double(c.refreshes));
  labelled(o, "hopeflow_token_refresh_failures_total", "Refresh messages refused, by reason.",
           "reason", refresh_failure_labels, c.refresh_failures);
  labelled(o, "hopeflow_jwks_fetches_total", "JWKS_URL fetches, by outcome.", "outcome",
           jwks_outcome_labels, c.jwks_fetches);
  single(o, "hopeflow_results_dropped_total", "counter",
         "Ack results left out of publish answers by MAX_ACK_RESULT_BYTES / MAX_RESULTS_BYTES.",
         double(c.results_dropped));
  labelled(o, "hopeflow_publish_completions_total",
           "Publishes answered by this node, by why: every target acked or went, the until count "
           "was reached, or the deadline.",
           "reason", completion_labels, c.completions);
  single(o, "hopeflow_cancels_sent_total", "counter",
         "cancel frames sent to this node's sockets (publishes with cancel: true).",
         double(c.cancels_sent));
  if (g.webhooks) {
    const webhook_sample& w = *g.webhooks;
    labelled(o, "hopeflow_webhook_events_total",
             "Webhook events made by this node (section 14), by event.", "event",
             webhook_event_labels, w.made);
    single(o, "hopeflow_webhook_sent_total", "counter",
           "Webhook events delivered (the receiver answered 2xx).", double(w.sent));
    single(o, "hopeflow_webhook_failures_total", "counter",
           "Webhook POSTs that failed (not a 2xx, or no answer within 5 s).", double(w.failed));
    single(o, "hopeflow_webhook_retries_total", "counter",
           "Webhook POSTs that were retries of an event.", double(w.retried));
    auto dropped = w.dropped;
    dropped[index(webhook_drop::watch_full)] += c.late_watches_refused;
    labelled(o, "hopeflow_webhook_dropped_total",
             "Webhook events dropped, by reason: the queue was full, still undelivered after the "
             "retry window, or late acks not watched (table full).",
             "reason", webhook_drop_labels, dropped);
    single(o, "hopeflow_webhook_adopted_total", "counter",
           "Webhook events taken over from a node that stopped holding them (cluster).",
           double(w.adopted));
    single(o, "hopeflow_webhook_queue_depth", "gauge",
           "Webhook events in this node's queue (waiting or being sent).", double(w.queued));
    single(o, "hopeflow_webhook_oldest_event_age_seconds", "gauge",
           "Age of the oldest webhook event in this node's queue; 0 when it is empty.",
           w.oldest_seconds);
  }
  single(o, "hopeflow_ack_deadlines_total", "counter",
         "Publish waits on this node that hit the deadline.", double(c.ack_deadlines));
  single(o, "hopeflow_heap_allocations_total", "counter",
         "Heap allocations (operator new) made by the worker threads.", double(c.heap_allocations));
  metric(o, "hopeflow_publish_duration_seconds", "histogram",
         "Time from a publish request to its answer.");
  std::uint64_t cumulative = 0;
  for (std::size_t i = 0; i < latency_buckets.size(); ++i) {
    cumulative += c.latency[i];
    char le[32];
    std::snprintf(le, sizeof le, "%g", latency_buckets[i]);
    sample(o, "hopeflow_publish_duration_seconds_bucket", std::string("le=\"") + le + "\"",
           double(cumulative));
  }
  cumulative += c.latency.back();
  sample(o, "hopeflow_publish_duration_seconds_bucket", "le=\"+Inf\"", double(cumulative));
  sample(o, "hopeflow_publish_duration_seconds_sum", "", c.latency_sum);
  sample(o, "hopeflow_publish_duration_seconds_count", "", double(cumulative));
  return o;
}

}  // namespace hf::metrics
