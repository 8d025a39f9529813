// The table of settings: one row per setting, read by load(), help_text(),
// describe() and the tests that compare it with the README.
#include <boost/url/parse.hpp>
#include <charconv>
#include <functional>
#include <string_view>

#include "config/config.hpp"
#include "config/redis_url.hpp"
#include "core/text.hpp"

namespace hf::config {
namespace {

// How one member of `config` is read from text and printed back.
struct codec {
  decltype(setting::parse) parse;
  decltype(setting::show) show;
  std::vector<std::string> choices;  // an enumeration's values; else empty
};

using reason = std::optional<std::string>;

codec text(std::string config::*member) {
  return {[member](const std::string& v, config& c) -> reason {
            c.*member = v;
            return std::nullopt;
          },
          [member](const config& c) { return c.*member; },
          {}};
}

// Shown as its length only, so --check-config output can be shared.
codec secret(std::string config::*member) {
  codec k = text(member);
  k.show = [member](const config& c) {
    return "(" + std::to_string((c.*member).size()) + " bytes)";
  };
  return k;
}

template <class T>
std::optional<T> integer_in(const std::string& s, T min, T max) {
  T v{};
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc{} || end != s.data() + s.size() || v < min || v > max) return std::nullopt;
  return v;
}

template <class T>
codec integer(T config::*member, T min, T max) {
  return {[=](const std::string& v, config& c) -> reason {
            auto n = integer_in<T>(v, min, max);
            if (!n)
              return "must be an integer " + std::to_string(min) + "-" + std::to_string(max) +
                     ", got '" + v + "'";
            c.*member = *n;
            return std::nullopt;
          },
          [=](const config& c) { return std::to_string(c.*member); },
          {}};
}

codec milliseconds(std::chrono::milliseconds config::*member, std::int64_t min, std::int64_t max) {
  return {[=](const std::string& v, config& c) -> reason {
            auto n = integer_in<std::int64_t>(v, min, max);
            if (!n)
              return "must be an integer " + std::to_string(min) + "-" + std::to_string(max) +
                     " (ms), got '" + v + "'";
            c.*member = std::chrono::milliseconds(*n);
            return std::nullopt;
          },
          [=](const config& c) { return std::to_string((c.*member).count()); },
          {}};
}

std::string comma_list(const std::vector<std::string>& values) {
  std::string out;
  for (const auto& v : values) out += (out.empty() ? "" : ", ") + v;
  return out;
}

// One of `values`, kept as written.
codec one_of(std::string config::*member, std::vector<std::string> values) {
  codec k = text(member);
  k.parse = [member, values](const std::string& v, config& c) -> reason {
    for (const auto& allowed : values)
      if (v == allowed) {
        c.*member = v;
        return std::nullopt;
      }
    return "must be one of " + comma_list(values) + ", got '" + v + "'";
  };
  k.choices = std::move(values);
  return k;
}

// "0" or "1" (a TOML boolean arrives as one of these).
codec zero_or_one(bool config::*member) {
  return {[member](const std::string& v, config& c) -> reason {
            if (v != "0" && v != "1") return "must be one of 0, 1, got '" + v + "'";
            c.*member = v == "1";
            return std::nullopt;
          },
          [member](const config& c) { return std::string(c.*member ? "1" : "0"); },
          {"0", "1"}};
}

// A text setting whose value `check` must accept: it returns why not, or
// nullopt.
codec checked_text(std::string config::*member, std::function<reason(const std::string&)> check) {
  codec k = text(member);
  k.parse = [member, check = std::move(check)](const std::string& v, config& c) -> reason {
    if (auto why = check(v)) return why;
    c.*member = v;
    return std::nullopt;
  };
  return k;
}

// Empty (no Redis) or a redis:// URL that parse_redis_url accepts; whether
// Redis answers there is found out on connect. Shown (and echoed in errors)
// with its password masked.
codec redis_url(std::string config::*member) {
  codec k = checked_text(member, [](const std::string& v) -> reason {
    redis_endpoint ignored;
    if (!v.empty() && !parse_redis_url(v, ignored))
      return "must look like redis://[[user]:password@]host[:port][/db], got '" +
             redact_redis_url(v) + "'";
    return std::nullopt;
  });
  k.show = [member](const config& c) { return redact_redis_url(c.*member); };
  return k;
}

// Empty (no Redis Cluster) or a list that parse_cluster_nodes accepts; shown
// with passwords masked.
codec cluster_nodes(std::string config::*member) {
  codec k = checked_text(member, [](const std::string& v) -> reason {
    std::vector<redis_endpoint> ignored;
    if (!v.empty() && !parse_cluster_nodes(v, ignored))
      return "must be host:port (or redis://[[user]:password@]host[:port]) entries separated by "
             "commas, got '" +
             redact_cluster_nodes(v) + "'";
    return std::nullopt;
  });
  k.show = [member](const config& c) { return redact_cluster_nodes(c.*member); };
  return k;
}

// Empty (a random id) or 1-64 printable ASCII characters without spaces: the
// id appears in Redis channel names and inter-node message headers.
codec node_id(std::string config::*member) {
  return checked_text(member, [](const std::string& v) -> reason {
    if (!v.empty() && !core::printable_token(v, 64))
      return "must be 1-64 printable ASCII characters without spaces, got '" + v + "'";
    return std::nullopt;
  });
}

// A value that must not be empty.
codec non_empty(std::string config::*member) {
  return checked_text(member, [](const std::string& v) -> reason {
    if (v.empty()) return "must not be empty";
    return std::nullopt;
  });
}

// Empty, or an http:// or https:// URL with a host and no user:password@
// (nothing would send them, and they would end up in logs).
codec http_url(std::string config::*member) {
  return checked_text(member, [](const std::string& v) -> reason {
    if (v.empty()) return std::nullopt;
    auto u = boost::urls::parse_uri(v);
    if (!u || (u->scheme() != "http" && u->scheme() != "https") || u->host().empty())
      return "must be an http:// or https:// URL, got '" + core::without_userinfo(v) + "'";
    if (u->has_userinfo())
      return "must not carry credentials (user:password@): none are sent (a JWKS is public, "
             "a webhook is signed), got '" +
             core::without_userinfo(v) + "'";
    return std::nullopt;
  });
}

// The default --help shows: what show() prints for config{}, so the two
// cannot drift.
constexpr std::string_view from_config;

setting row(std::string env, std::string flag, std::string_view shown_default, std::string help,
            codec k) {
  std::string shown = shown_default.empty() ? k.show(config{}) : std::string(shown_default);
  if (!k.choices.empty()) help += " (one of " + comma_list(k.choices) + ")";
  return {std::move(env),       std::move(flag),    std::move(shown), std::move(help),
          std::move(k.choices), std::move(k.parse), std::move(k.show)};
}

std::vector<setting> table() {
  using std::size_t;
  constexpr std::int64_t day_ms = 86'400'000;  // no wait is longer than a day
  return {
      row("JWT_SECRET", "--jwt-secret", "(required)",
          "HS256 key for end-user tokens (raw UTF-8 bytes; at least 32 bytes recommended); not "
          "required when RS256/ES256 keys are configured",
          secret(&config::jwt_secret)),
      row("PUBLISH_SECRET", "--publish-secret", "(none)",
          "when set, only HS256 tokens signed with it may POST /publish (others: 403); "
          "`token --publisher` mints one",
          secret(&config::publish_secret)),
      row("USER_CLAIM", "--user-claim", from_config,
          "the token claim that names the user (sub for most identity providers)",
          non_empty(&config::user_claim)),
      row("TOKEN_EXPIRY", "--token-expiry", from_config,
          "close: a socket whose token expires is closed with 4001 (clients send refresh to "
          "extend it); ignore: exp counts at the upgrade only, as the original",
          one_of(&config::token_expiry, {"ignore", "close"})),
      row("JWT_PUBLIC_KEY_FILE", "--jwt-public-key-file", "(none)",
          "PEM public key (RSA 2048+ or EC P-256) for RS256/ES256 tokens",
          text(&config::jwt_public_key_file)),
      row("JWKS_FILE", "--jwks-file", "(none)", "JWKS file with RS256/ES256 keys (by kid)",
          text(&config::jwks_file)),
      row("JWKS_URL", "--jwks-url", "(none)",
          "http(s) URL (no user:password@) of the identity provider's JWKS, fetched at start, "
          "every JWKS_REFRESH_MS, and when a token names an unknown kid (at most every 10 s)",
          http_url(&config::jwks_url)),
      row("JWKS_REFRESH_MS", "--jwks-refresh-ms", from_config,
          "how often JWKS_URL is fetched again, 10000 (10 s) to 86400000 (1 day); a failed "
          "fetch is retried sooner: after 1 s, doubling up to 60 s (or JWKS_REFRESH_MS if shorter)",
          milliseconds(&config::jwks_refresh, 10'000, day_ms)),
      row("JWT_ISSUER", "--jwt-issuer", "(none)",
          "when set, every end-user token must carry exactly this iss (publisher tokens "
          "excepted); recommended with a shared identity provider",
          text(&config::jwt_issuer)),
      row("JWT_AUDIENCE", "--jwt-audience", "(none)",
          "when set, every end-user token's aud (a string or an array of strings) must be or "
          "contain this value (publisher tokens excepted); recommended with a shared identity "
          "provider",
          text(&config::jwt_audience)),
      row("HOST", "--host", from_config, "address to listen on (0.0.0.0 for all interfaces)",
          text(&config::host)),
      row("PORT", "--port", from_config, "TCP port (0 picks a free one and logs it)",
          integer<std::uint16_t>(&config::port, 0, 65535)),
      row("THREADS", "--threads", from_config,
          "worker threads, each owning a shard of users; 0 = one per core",
          integer<unsigned>(&config::threads, 0, 1024)),
      row("ACK_TIMEOUT_MS", "--ack-timeout-ms", from_config,
          "longest a publish waits for acks; also the cap for a request's ackTimeoutMs",
          milliseconds(&config::ack_timeout, 0, 3'600'000)),
      row("IDEMPOTENCY_TTL_MS", "--idempotency-ttl-ms", from_config,
          "how long a publish with an Idempotency-Key keeps its answer for retries "
          "(docs/protocol.md section 15)",
          milliseconds(&config::idempotency_ttl, 1000, 86'400'000)),
      row("WEBHOOK_URL", "--webhook-url", "(none)",
          "http(s) URL (no user:password@) the events of publishes with \"webhook\": true are "
          "POSTed to (docs/protocol.md section 14); needs WEBHOOK_SECRET",
          http_url(&config::webhook_url)),
      row("WEBHOOK_SECRET", "--webhook-secret", "(none)",
          "the HMAC-SHA256 key of the hopeflow-signature header of every webhook POST; needs "
          "WEBHOOK_URL",
          secret(&config::webhook_secret)),
      row("LATE_ACK_MS", "--late-ack-ms", from_config,
          "how long after a webhook publish arrived an ack after its answer is still reported "
          "(a late_ack event), 0 to 3600000 (1 hour)",
          milliseconds(&config::late_ack, 0, 3'600'000)),
      row("MAX_BODY_BYTES", "--max-body-bytes", from_config,
          "largest POST /publish body (413 above)",
          integer<size_t>(&config::max_body_bytes, 64, size_t{1} << 30)),
      row("MAX_MESSAGE_BYTES", "--max-message-bytes", from_config,
          "largest WebSocket message from a client (close 1009 above)",
          integer<size_t>(&config::max_message_bytes, 64, size_t{1} << 30)),
      row("COMPRESSION", "--compression", from_config,
          "1: permessage-deflate for clients that offer it; 0: never",
          zero_or_one(&config::compression)),
      row("COMPRESSION_MIN_BYTES", "--compression-min-bytes", from_config,
          "envelopes shorter than this are sent uncompressed",
          integer<size_t>(&config::compression_min_bytes, 0, size_t{1} << 30)),
      row("MAX_FILTERS_PER_SOCKET", "--max-filters-per-socket", from_config,
          "filters one socket may hold; further subscribes are ignored",
          integer<size_t>(&config::max_filters_per_socket, 1, 1'000'000)),
      row("MAX_FILTERS_PER_USER", "--max-filters-per-user", from_config,
          "filters one user may hold across its sockets on a node; further subscribes are refused",
          integer<size_t>(&config::max_filters_per_user, 1, 100'000'000)),
      row("MAX_QUEUED_BYTES", "--max-queued-bytes", from_config,
          "outbound bytes queued for one socket before it is closed as a slow consumer (1008)",
          integer<size_t>(&config::max_queued_bytes, 1024, size_t{1} << 34)),
      row("MAX_QUEUED_MESSAGES", "--max-queued-messages", from_config,
          "frames queued for one socket before it is closed as a slow consumer (1008)",
          integer<size_t>(&config::max_queued_messages, 1, 1'000'000)),
      row("MAX_ACK_RESULT_BYTES", "--max-ack-result-bytes", from_config,
          "largest result one ack may add to a publish's answer; larger ones are left out and "
          "counted in resultsDropped",
          integer<size_t>(&config::max_ack_result_bytes, 16, size_t{1} << 30)),
      row("MAX_RESULTS_BYTES", "--max-results-bytes", from_config,
          "all results of one publish answer (every node together); results beyond it are left "
          "out and counted in resultsDropped",
          integer<size_t>(&config::max_results_bytes, 1024, size_t{1} << 30)),
      row("HISTORY_SIZE", "--history-size", from_config,
          "envelopes kept per user for clients that reconnect with `recover`; 0 = history off "
          "(offsets are still given)",
          integer<size_t>(&config::history_size, 0, 1'000'000)),
      row("HISTORY_TTL_MS", "--history-ttl-ms", from_config,
          "how long an envelope stays recoverable (and a user's epoch without sockets or history)",
          milliseconds(&config::history_ttl, 1000, day_ms)),
      row("HISTORY_MAX_BYTES", "--history-max-bytes", from_config,
          "the node's history memory; the oldest envelopes go first when it is reached",
          integer<size_t>(&config::history_max_bytes, 0, size_t{1} << 40)),
      row("MAX_HEADER_BYTES", "--max-header-bytes", from_config,
          "request line + headers (431 above)",
          integer<size_t>(&config::max_header_bytes, 1024, 1 << 20)),
      row("MAX_URI_BYTES", "--max-uri-bytes", from_config,
          "request target, incl. ?token= (414 above)",
          integer<size_t>(&config::max_uri_bytes, 256, 1 << 20)),
      row("REQUEST_TIMEOUT_MS", "--request-timeout-ms", from_config,
          "a whole HTTP request must arrive within this (408); also the keep-alive idle limit",
          milliseconds(&config::request_timeout, 100, day_ms)),
      row("MAX_CONNECTIONS", "--max-connections", from_config,
          "open connections (HTTP + WebSocket) before new ones get 503; 0 = the open-file limit "
          "only",
          integer<size_t>(&config::max_connections, 0, 100'000'000)),
      row("MAX_SOCKETS_PER_USER", "--max-sockets-per-user", from_config,
          "WebSockets one user may hold; further upgrades get 429",
          integer<size_t>(&config::max_sockets_per_user, 1, 100'000'000)),
      row("DRAIN_TIMEOUT_MS", "--drain-timeout-ms", from_config,
          "on SIGTERM, the longest wait for sockets to close before exiting",
          milliseconds(&config::drain_timeout, 0, day_ms)),
      row("DRAIN_SPREAD_MS", "--drain-spread-ms", from_config,
          "on SIGTERM, 1001 closes are spread over this long so clients do not reconnect at once",
          milliseconds(&config::drain_spread, 0, day_ms)),
      row("DRAIN_NOTICE_MS", "--drain-notice-ms", from_config,
          "on SIGTERM, answer /readyz 503 this long (still serving) before draining",
          milliseconds(&config::drain_notice, 0, day_ms)),
      row("HEARTBEAT_INTERVAL_MS", "--heartbeat-interval-ms", from_config,
          "ping sockets idle this long; drop one silent for another interval (0 = off)",
          milliseconds(&config::heartbeat_interval, 0, day_ms)),
      row("TLS_CERT_FILE", "--tls-cert-file", "(none)",
          "PEM certificate chain: with TLS_KEY_FILE, the port speaks https/wss (TLS 1.2+)",
          text(&config::tls_cert_file)),
      row("TLS_KEY_FILE", "--tls-key-file", "(none)", "PEM private key for TLS_CERT_FILE",
          text(&config::tls_key_file)),
      row("REDIS_URL", "--redis-url", "(none)",
          "redis://[[user]:password@]host[:port][/db] switches on cluster mode; without it the "
          "node "
          "is self-contained",
          redis_url(&config::redis_url)),
      row("REDIS_CLUSTER_NODES", "--redis-cluster-nodes", "(none)",
          "host:port,host:port...: seed nodes of a Redis Cluster (7+); switches on cluster mode "
          "with sharded pub/sub instead of one Redis",
          cluster_nodes(&config::redis_cluster_nodes)),
      row("REDIS_REQUIRED", "--redis-required", from_config,
          "1 refuses to start when Redis cannot be reached; 0 starts and serves locally, retrying",
          zero_or_one(&config::redis_required)),
      row("NODE_ID", "--node-id", "(random)", "this node's name in the cluster (unique per node)",
          node_id(&config::node_id)),
      row("CONSOLE", "--console", from_config,
          "1 serves a developer console at GET /console (connect, subscribe, watch, publish) "
          "and redirects GET / to it",
          zero_or_one(&config::console)),
      row("SERVE_SDK", "--serve-sdk", from_config,
          "1 serves the JavaScript SDK module at GET /sdk/realtime.js, with CORS, for pages "
          "that import it without a bundler (independent of CONSOLE)",
          zero_or_one(&config::serve_sdk)),
      row("LOG_LEVEL", "--log-level", from_config, "lowest severity written to the log",
          one_of(&config::log_level, log_levels())),
      row("LOG_FORMAT", "--log-format", from_config,
          "json: one object per line with time, level and msg",
          one_of(&config::log_format, {"text", "json"})),
      row("ENV_FILE", "--env-file", from_config,
          "KEY=VALUE file read at start-up when present (empty: none)", text(&config::env_file)),
      row("CONFIG_FILE", "--config", "(none)",
          "TOML file with the same settings in lower case (port = 8787); lowest precedence",
          text(&config::config_file)),
  };
}

}  // namespace

const std::vector<std::string>& log_levels() {
  // spdlog::level::from_str() knows each of these (cli.cpp passes it on).
  static const std::vector<std::string> levels = {"trace", "debug",    "info", "warn",
                                                  "error", "critical", "off"};
  return levels;
}

const std::vector<setting>& settings() {
  static const std::vector<setting> rows = table();
  return rows;
}

}  // namespace hf::config
