// The server's counters and gauges, and their Prometheus text exposition
// (format 0.0.4). Each worker thread owns one `counters` and is its only
// writer; a scrape asks every worker for a copy (posted to its thread) and
// sums them, so the hot path increments plain integers. Pure: no I/O.
//
// Every labelled series is indexed by an enum whose labels are defined right
// after it with label_table(), which refuses to compile unless there is
// exactly one label per enum value: a new value cannot go unlabelled.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/errors.hpp"
#include "protocol/vocabulary.hpp"

namespace hf::metrics {

// The labels of enum E (which ends with `count_`), one per value, in order:
// the same check as the protocol's words (protocol/vocabulary.hpp).
template <class E, std::size_t N>
consteval std::array<std::string_view, N> label_table(const char* const (&names)[N]) {
  return protocol::words_of<E>(names);
}

// Why a WebSocket ended (hopeflow_websocket_closes_total{reason}).
enum class close_reason : std::uint8_t {
  client_close,    // the client sent a close frame
  network,         // the connection broke (reset, EOF without close)
  protocol_error,  // 1002 / 1007
  too_big,         // 1009
  slow_consumer,   // 1008
  heartbeat,       // no answer to our ping
  shutdown,        // 1001
  token_expired,   // 4001 (TOKEN_EXPIRY=close)
  replaced,        // 4002: another socket of the user named the same device
  count_
};
inline constexpr auto close_reason_labels = label_table<close_reason>(
    {"client_close", "network", "protocol_error", "too_big", "slow_consumer", "heartbeat",
     "shutdown", "token_expired", "replaced"});

// Why a publish was answered (docs/protocol.md section 12): every target
// acked or went, `until` targets acked, or the deadline
// (hopeflow_publish_completions_total{reason}).
enum class completion : std::uint8_t { all_done, count_reached, deadline, count_ };
inline constexpr auto completion_labels =
    label_table<completion>({"all_done", "count_reached", "deadline"});

// A limit that refused a request or closed a socket
// (hopeflow_limit_refusals_total{limit}).
enum class limit_kind : std::uint8_t {
  header_431,
  uri_414,
  body_413,
  timeout_408,
  connections_503,
  sockets_per_user_429,
  message_1009,
  slow_consumer_1008,
  filters_per_socket,  // subscribes beyond MAX_FILTERS_PER_SOCKET (the client is told)
  count_
};
inline constexpr auto limit_kind_labels = label_table<limit_kind>(
    {"header_431", "uri_414", "body_413", "timeout_408", "connections_503", "sockets_per_user_429",
     "message_1009", "slow_consumer_1008", "filters_per_socket"});

// Degraded answers (hopeflow_publishes_degraded_total{reason}) and refused
// refreshes (hopeflow_token_refresh_failures_total{reason}) are counted by
// the words the protocol defines for them (protocol/vocabulary.hpp).
using degradation = protocol::degradation;
inline constexpr auto degradation_labels = protocol::degraded_values;
using refresh_failure = protocol::refresh_failure;
inline constexpr auto refresh_failure_labels = protocol::refresh_failure_reasons;

// How a JWKS_URL fetch ended (hopeflow_jwks_fetches_total{outcome}).
enum class jwks_outcome : std::uint8_t {
  ok,           // keys replaced
  unreachable,  // connect, TLS, read or write failed, or timed out
  bad_status,   // not a 200 (redirects are not followed)
  too_large,    // the body went past the limit
  unusable,     // not a JWKS document, or no usable key in it
  count_
};
inline constexpr auto jwks_outcome_labels =
    label_table<jwks_outcome>({"ok", "unreachable", "bad_status", "too_large", "unusable"});

// Section 14's events (hopeflow_webhook_events_total{event}) and why one
// was dropped (hopeflow_webhook_dropped_total{reason}): the queue was full,
// it was still undelivered after the retry window, or the shard could not
// watch an answered publish's late acks.
enum class webhook_event : std::uint8_t { unacked, late_ack, count_ };
inline constexpr auto webhook_event_labels = label_table<webhook_event>({"unacked", "late_ack"});
enum class webhook_drop : std::uint8_t { queue_full, expired, watch_full, count_ };
inline constexpr auto webhook_drop_labels =
    label_table<webhook_drop>({"queue_full", "expired", "watch_full"});

// Why a token was refused (hopeflow_auth_failures_total{reason}).
enum class auth_failure : std::uint8_t {
  missing,
  malformed,
  unsupported_alg,
  bad_typ,
  crit,
  bad_signature,
  expired,
  not_yet_valid,
  bad_claim,
  no_user,
  unknown_kid,
  publisher_token,
  count_
};
inline constexpr auto auth_failure_labels = label_table<auth_failure>(
    {"missing", "malformed", "unsupported_alg", "bad_typ", "crit", "bad_signature", "expired",
     "not_yet_valid", "bad_claim", "no_user", "unknown_kid", "publisher_token"});

// The auth_failure of a verification error; nullopt for an error that is not
// about a token (a programming error: counted nowhere).
std::optional<auth_failure> auth_failure_of(const boost::system::error_code& ec) noexcept;

// Publish round trips up to this many seconds, then +Inf.
inline constexpr std::array<double, 12> latency_buckets = {
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0};

template <class E>
using per = std::array<std::uint64_t, static_cast<std::size_t>(E::count_)>;

template <class E>
constexpr std::size_t index(E e) noexcept {
  return static_cast<std::size_t>(e);
}

struct counters {
  // WebSocket
  std::uint64_t ws_connects = 0;
  per<close_reason> ws_closes{};
  std::uint64_t ws_bytes_in = 0, ws_bytes_out = 0;
  // HTTP and auth
  per<auth_failure> auth_failures{};
  std::array<std::uint64_t, 6> http_status{};  // 1xx..5xx by first digit, [0] = other
  per<limit_kind> limits{};
  // Publishes (as answered to the caller by this node)
  std::uint64_t publishes_answered = 0, publishes_no_target = 0, publish_errors = 0;
  per<degradation> publishes_degraded{};
  std::uint64_t publish_backstops = 0;    // answered by the session's backstop timer
  std::uint64_t publishes_forbidden = 0;  // 403: valid tokens that are not publishers
  // Section 15: answers replayed for an Idempotency-Key, and 409/422 conflicts.
  std::uint64_t idempotent_replays = 0, idempotency_conflicts = 0;
  // Identity on open sockets (docs/protocol.md sections 8-9).
  std::uint64_t refreshes = 0;
  per<refresh_failure> refresh_failures{};
  per<jwks_outcome> jwks_fetches{};   // counted on the fetcher's side, summed at scrape
  std::uint64_t results_dropped = 0;  // ack results left out by the result limits
  std::array<std::uint64_t, latency_buckets.size() + 1> latency{};  // non-cumulative
  double latency_sum = 0;
  // Delivery on this node's sockets (hub shard)
  std::uint64_t deliveries = 0, acks = 0, ack_deadlines = 0;
  per<completion> completions{};   // publishes answered by this node, by why (section 12)
  std::uint64_t cancels_sent = 0;  // `cancel` frames sent to this node's sockets
  // Section 14: answered webhook publishes whose late acks could not be
  // watched (the shard's table was full): counted as dropped events.
  std::uint64_t late_watches_refused = 0;
  // Heap allocations (operator new) on the worker threads, read at scrape.
  std::uint64_t heap_allocations = 0;

  void add(const counters& o);
  void observe_latency(double seconds);
  void refused(limit_kind k) noexcept { ++limits[index(k)]; }
  void closed(close_reason r) noexcept { ++ws_closes[index(r)]; }
  void answered_http(unsigned status) noexcept {
    unsigned cls = status / 100;
    ++http_status[cls < http_status.size() ? cls : 0];
  }
  void auth_failed(const boost::system::error_code& ec) noexcept {
    if (auto f = auth_failure_of(ec)) ++auth_failures[index(*f)];
  }
};

// The state of the cross-node broker, for /readyz and /metrics.
enum class cluster_state : std::int8_t { standalone = -1, disconnected = 0, connected = 1 };

// The process as the Prometheus client libraries' process collector reports
// it (process_* metrics), read from /proc at the scrape by net/process_stats.
struct process_sample {
  double cpu_seconds = 0;  // user + system CPU time
  double resident_bytes = 0, virtual_bytes = 0;
  double open_fds = 0, max_fds = 0;  // max_fds: the soft RLIMIT_NOFILE
  double start_time_seconds = 0;     // since the Unix epoch
};

// The webhook sender's counts and queue (WEBHOOK_URL set), read at a scrape.
struct webhook_sample {
  std::array<std::uint64_t, static_cast<std::size_t>(webhook_event::count_)> made{};
  std::uint64_t sent = 0;     // events delivered (a 2xx)
  std::uint64_t failed = 0;   // attempts that failed (not a 2xx, or no answer in 5 s)
  std::uint64_t retried = 0;  // attempts after the first
  std::array<std::uint64_t, static_cast<std::size_t>(webhook_drop::count_)> dropped{};
  std::uint64_t adopted = 0;  // events taken over from a node that stopped holding them
  std::uint64_t queued = 0;   // events in this node's queue now (waiting or being sent)
  double oldest_seconds = 0;  // age of the oldest of them
};

struct gauges {
  std::string_view version;               // hopeflow_build_info{version}: the project version
  std::optional<process_sample> process;  // the process_* metrics; none without
  std::uint64_t sockets = 0, users = 0, pending_publishes = 0, http_connections = 0;
  bool ready = true;
  cluster_state cluster = cluster_state::standalone;
  double cluster_rtt_seconds = 0;  // PUBLISH round trips to Redis: sum
  std::uint64_t cluster_rtt_count = 0;
  bool duplicate_node_id = false;          // another live node claims this NODE_ID
  std::uint64_t unreachable_masters = 0;   // Redis Cluster masters this node cannot use now
  std::optional<webhook_sample> webhooks;  // WEBHOOK_URL set
};

std::string render_prometheus(const counters& c, const gauges& g);

}  // namespace hf::metrics
