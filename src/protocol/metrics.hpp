// The server's counters and their Prometheus text exposition (format 0.0.4).
// Each worker thread owns one `counters` and is the only writer; a scrape
// asks every worker for a copy (posted to its thread) and sums them, so the
// hot path increments plain integers. Pure: rendering has no I/O.
#pragma once

#include <array>
#include <cstdint>
#include <string>

namespace hf::protocol {

enum class close_reason : std::uint8_t {
  client_close,    // the client sent a close frame
  network,         // the connection broke (reset, EOF without close)
  protocol_error,  // 1002 / 1007
  too_big,         // 1009
  slow_consumer,   // 1008
  heartbeat,       // no answer to our ping
  shutdown,        // 1001
  count_
};
enum class limit_kind : std::uint8_t {
  header_431,
  uri_414,
  body_413,
  timeout_408,
  connections_503,
  sockets_per_user_429,
  message_1009,
  slow_consumer_1008,
  count_
};

// Publish round trips up to this many seconds, then +Inf.
inline constexpr std::array<double, 12> latency_buckets = {
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0};

struct counters {
  // WebSocket
  std::uint64_t ws_connects = 0;
  std::array<std::uint64_t, static_cast<std::size_t>(close_reason::count_)> ws_closes{};
  std::uint64_t ws_bytes_in = 0, ws_bytes_out = 0;
  // HTTP and auth
  std::array<std::uint64_t, 16> auth_failures{};  // by hf::errc token_* value
  std::array<std::uint64_t, 6> http_status{};     // 2xx..5xx by first digit, [0] = other
  std::array<std::uint64_t, static_cast<std::size_t>(limit_kind::count_)> limits{};
  // Publishes (as answered to the caller by this node)
  std::uint64_t publishes_answered = 0, publishes_no_target = 0, publish_errors = 0;
  std::array<std::uint64_t, latency_buckets.size() + 1> latency{};  // non-cumulative
  double latency_sum = 0;
  // Delivery on this node's sockets (hub shard)
  std::uint64_t deliveries = 0, acks = 0, ack_deadlines = 0;

  void add(const counters& o);
  void observe_latency(double seconds);
};

struct gauges {
  std::uint64_t sockets = 0, users = 0, pending_publishes = 0, http_connections = 0;
  bool ready = true;
  int cluster = -1;                // -1 not in cluster mode, 0 Redis down, 1 connected
  double cluster_rtt_seconds = 0;  // PUBLISH round trips to Redis: sum
  std::uint64_t cluster_rtt_count = 0;
};

std::string render_prometheus(const counters& c, const gauges& g);

}  // namespace hf::protocol
