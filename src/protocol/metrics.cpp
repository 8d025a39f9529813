#include "protocol/metrics.hpp"

#include <cstdio>

namespace hf::protocol {

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
  for (std::size_t i = 0; i < latency.size(); ++i) latency[i] += o.latency[i];
  latency_sum += o.latency_sum;
  deliveries += o.deliveries;
  acks += o.acks;
  ack_deadlines += o.ack_deadlines;
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

// A counter with one sample per label value: names[i] = values[i], from `first`.
template <std::size_t N, class Values>
void labelled(std::string& out, const char* name, const char* help, const char* label,
              const char* const (&names)[N], const Values& values, std::size_t first = 0) {
  metric(out, name, "counter", help);
  for (std::size_t i = first; i < N; ++i)
    sample(out, name, std::string(label) + "=\"" + names[i] + "\"", double(values[i]));
}

}  // namespace

std::string render_prometheus(const counters& c, const gauges& g) {
  static const char* reasons[] = {"client_close",  "network",   "protocol_error", "too_big",
                                  "slow_consumer", "heartbeat", "shutdown"};
  static const char* limits[] = {"header_431",   "uri_414",           "body_413",
                                 "timeout_408",  "connections_503",   "sockets_per_user_429",
                                 "message_1009", "slow_consumer_1008"};
  static const char* auth[] = {
      "",       "missing",       "malformed", "unsupported_alg", "bad_typ",
      "crit",   "bad_signature", "expired",   "not_yet_valid",   "bad_claim",
      "no_user"};
  std::string o;
  single(o, "hopeflow_websockets", "gauge", "Open WebSocket connections.", double(g.sockets));
  single(o, "hopeflow_users", "gauge", "Users with at least one socket on this node.",
         double(g.users));
  single(o, "hopeflow_http_connections", "gauge", "Open HTTP (non-upgraded) connections.",
         double(g.http_connections));
  single(o, "hopeflow_pending_publishes", "gauge",
         "Publishes waiting for acks on this node's sockets.", double(g.pending_publishes));
  single(o, "hopeflow_ready", "gauge", "1 when /readyz answers 200.", g.ready ? 1 : 0);
  if (g.cluster >= 0) {
    single(o, "hopeflow_cluster_connected", "gauge", "1 when the Redis broker is connected.",
           g.cluster);
    metric(o, "hopeflow_cluster_publish_rtt_seconds", "summary",
           "Round trips of PUBLISH to Redis.");
    sample(o, "hopeflow_cluster_publish_rtt_seconds_sum", "", g.cluster_rtt_seconds);
    sample(o, "hopeflow_cluster_publish_rtt_seconds_count", "", double(g.cluster_rtt_count));
  }
  single(o, "hopeflow_websocket_connects_total", "counter", "WebSocket connections opened.",
         double(c.ws_connects));
  labelled(o, "hopeflow_websocket_closes_total", "WebSocket connections closed, by reason.",
           "reason", reasons, c.ws_closes);
  single(o, "hopeflow_websocket_bytes_received_total", "counter", "Bytes read from WebSockets.",
         double(c.ws_bytes_in));
  single(o, "hopeflow_websocket_bytes_sent_total", "counter", "Bytes written to WebSockets.",
         double(c.ws_bytes_out));
  labelled(o, "hopeflow_auth_failures_total", "Rejected tokens, by reason.", "reason", auth,
           c.auth_failures, 1);
  metric(o, "hopeflow_http_responses_total", "counter", "HTTP answers, by status class.");
  for (std::size_t i = 1; i < c.http_status.size(); ++i)
    sample(o, "hopeflow_http_responses_total", "class=\"" + std::to_string(i) + "xx\"",
           double(c.http_status[i]));
  labelled(o, "hopeflow_limit_refusals_total", "Requests and sockets refused or closed by a limit.",
           "limit", limits, c.limits);
  metric(o, "hopeflow_publishes_total", "counter", "Publishes answered by this node, by outcome.");
  sample(o, "hopeflow_publishes_total", "outcome=\"delivered\"",
         double(c.publishes_answered - c.publishes_no_target));
  sample(o, "hopeflow_publishes_total", "outcome=\"no_target\"", double(c.publishes_no_target));
  sample(o, "hopeflow_publishes_total", "outcome=\"error\"", double(c.publish_errors));
  single(o, "hopeflow_deliveries_total", "counter", "Envelopes sent to this node's sockets.",
         double(c.deliveries));
  single(o, "hopeflow_acks_total", "counter", "Acks recorded from this node's sockets.",
         double(c.acks));
  single(o, "hopeflow_ack_deadlines_total", "counter",
         "Publish waits on this node that hit the deadline.", double(c.ack_deadlines));
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

}  // namespace hf::protocol
