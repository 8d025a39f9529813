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
  metric(o, "hopeflow_websockets", "gauge", "Open WebSocket connections.");
  sample(o, "hopeflow_websockets", "", double(g.sockets));
  metric(o, "hopeflow_users", "gauge", "Users with at least one socket on this node.");
  sample(o, "hopeflow_users", "", double(g.users));
  metric(o, "hopeflow_http_connections", "gauge", "Open HTTP (non-upgraded) connections.");
  sample(o, "hopeflow_http_connections", "", double(g.http_connections));
  metric(o, "hopeflow_pending_publishes", "gauge",
         "Publishes waiting for acks on this node's sockets.");
  sample(o, "hopeflow_pending_publishes", "", double(g.pending_publishes));
  metric(o, "hopeflow_ready", "gauge", "1 when /readyz answers 200.");
  sample(o, "hopeflow_ready", "", g.ready ? 1 : 0);
  if (g.cluster >= 0) {
    metric(o, "hopeflow_cluster_connected", "gauge", "1 when the Redis broker is connected.");
    sample(o, "hopeflow_cluster_connected", "", g.cluster);
    metric(o, "hopeflow_cluster_publish_rtt_seconds", "summary",
           "Round trips of PUBLISH to Redis.");
    sample(o, "hopeflow_cluster_publish_rtt_seconds_sum", "", g.cluster_rtt_seconds);
    sample(o, "hopeflow_cluster_publish_rtt_seconds_count", "", double(g.cluster_rtt_count));
  }
  metric(o, "hopeflow_websocket_connects_total", "counter", "WebSocket connections opened.");
  sample(o, "hopeflow_websocket_connects_total", "", double(c.ws_connects));
  metric(o, "hopeflow_websocket_closes_total", "counter",
         "WebSocket connections closed, by reason.");
  for (std::size_t i = 0; i < c.ws_closes.size(); ++i)
    sample(o, "hopeflow_websocket_closes_total", std::string("reason=\"") + reasons[i] + "\"",
           double(c.ws_closes[i]));
  metric(o, "hopeflow_websocket_bytes_received_total", "counter", "Bytes read from WebSockets.");
  sample(o, "hopeflow_websocket_bytes_received_total", "", double(c.ws_bytes_in));
  metric(o, "hopeflow_websocket_bytes_sent_total", "counter", "Bytes written to WebSockets.");
  sample(o, "hopeflow_websocket_bytes_sent_total", "", double(c.ws_bytes_out));
  metric(o, "hopeflow_auth_failures_total", "counter", "Rejected tokens, by reason.");
  for (std::size_t i = 1; i < std::size(auth); ++i)
    sample(o, "hopeflow_auth_failures_total", std::string("reason=\"") + auth[i] + "\"",
           double(c.auth_failures[i]));
  metric(o, "hopeflow_http_responses_total", "counter", "HTTP answers, by status class.");
  for (std::size_t i = 1; i < c.http_status.size(); ++i)
    sample(o, "hopeflow_http_responses_total", "class=\"" + std::to_string(i) + "xx\"",
           double(c.http_status[i]));
  metric(o, "hopeflow_limit_refusals_total", "counter",
         "Requests and sockets refused or closed by a limit.");
  for (std::size_t i = 0; i < c.limits.size(); ++i)
    sample(o, "hopeflow_limit_refusals_total", std::string("limit=\"") + limits[i] + "\"",
           double(c.limits[i]));
  metric(o, "hopeflow_publishes_total", "counter", "Publishes answered by this node, by outcome.");
  sample(o, "hopeflow_publishes_total", "outcome=\"delivered\"",
         double(c.publishes_answered - c.publishes_no_target));
  sample(o, "hopeflow_publishes_total", "outcome=\"no_target\"", double(c.publishes_no_target));
  sample(o, "hopeflow_publishes_total", "outcome=\"error\"", double(c.publish_errors));
  metric(o, "hopeflow_deliveries_total", "counter", "Envelopes sent to this node's sockets.");
  sample(o, "hopeflow_deliveries_total", "", double(c.deliveries));
  metric(o, "hopeflow_acks_total", "counter", "Acks recorded from this node's sockets.");
  sample(o, "hopeflow_acks_total", "", double(c.acks));
  metric(o, "hopeflow_ack_deadlines_total", "counter",
         "Publish waits on this node that hit the deadline.");
  sample(o, "hopeflow_ack_deadlines_total", "", double(c.ack_deadlines));
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
