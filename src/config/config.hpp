// Server configuration: one table of settings (settings()), each readable from
// a command line flag, an environment variable, a .env-style file or a TOML
// file (in that order of precedence), else its default. The same rows drive
// parsing, validation, --help, --check-config and the README's table (checked
// by tests/unit/config). Parsed and validated once at start-up.
// Pure: the environment and the file contents are passed in.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

namespace hf::config {

// Every default lives here, with its reason; --help and the README show the
// defaults as show(config{}) prints them.
struct config {
  std::string jwt_secret;
  // Identity (docs/protocol.md sections 8-10).
  std::string publish_secret;                      // only tokens signed with it may publish
  std::string user_claim = "userId";               // the claim naming the user, every kind of token
  std::string token_expiry = "ignore";             // or "close": 4001 when a socket's exp passes
  std::string jwt_public_key_file, jwks_file;      // RS256/ES256 keys: PEM, JWKS
  std::string jwks_url;                            // JWKS fetched over http(s)
  std::chrono::milliseconds jwks_refresh{300000};  // and again every 5 minutes
  std::string jwt_issuer, jwt_audience;            // iss / aud every end-user token needs
  std::string host = "127.0.0.1";
  std::uint16_t port = 8787;                    // the original's `wrangler dev` port
  unsigned threads = 0;                         // 0 = one per core
  std::chrono::milliseconds ack_timeout{5000};  // the original's ack wait
  // How long a publish's Idempotency-Key keeps its answer (section 15).
  std::chrono::milliseconds idempotency_ttl{600'000};
  // Section 14: where events of publishes with "webhook": true go, signed
  // with the secret; acks within late_ack of a publish's arrival that come
  // after its answer are reported (a minute: device commands that take
  // longer than the 5 s deadline).
  std::string webhook_url, webhook_secret;
  std::chrono::milliseconds late_ack{60'000};
  std::size_t max_body_bytes = 1 << 20;      // POST /publish body: 1 MiB
  std::size_t max_message_bytes = 64 << 10;  // one WebSocket message: 64 KiB
  // permessage-deflate (RFC 7692) when a client offers it; envelopes shorter
  // than compression_min_bytes go uncompressed (measured: below it the
  // bytes saved do not pay for the CPU; docs/performance.md).
  bool compression = true;
  std::size_t compression_min_bytes = 256;
  std::size_t max_filters_per_socket = 10000;        // bounds memory and matching per socket
  std::size_t max_filters_per_user = 10000;          // bounds matching per publish to one user
  std::size_t max_queued_bytes = 4 << 20;            // per socket outbound: then "slow consumer"
  std::size_t max_queued_messages = 1024;            // per socket outbound frames: same
  std::size_t max_ack_result_bytes = 64 << 10;       // one ack's result: larger ones are dropped
  std::size_t max_results_bytes = 1 << 20;           // one publish's results: the rest dropped
  std::size_t history_size = 100;                    // envelopes kept per user; 0 = no history
  std::chrono::milliseconds history_ttl{120000};     // how long an envelope stays recoverable
  std::size_t history_max_bytes = 64 << 20;          // the node's history memory
  std::size_t max_header_bytes = 16 << 10;           // request line + headers: 431 above
  std::size_t max_uri_bytes = 8 << 10;               // request target: 414 above
  std::chrono::milliseconds request_timeout{15000};  // whole request; also keep-alive idle
  std::size_t max_connections = 0;                   // 0 = only the OS's open-file limit
  std::size_t max_sockets_per_user = 10000;          // 429 to further upgrades
  std::chrono::milliseconds drain_timeout{10000};    // SIGTERM: longest wait for peers
  std::chrono::milliseconds drain_spread{1000};      // SIGTERM: 1001 closes spread over this
  std::chrono::milliseconds drain_notice{0};         // SIGTERM: /readyz 503 this long first
  // Idle sockets get a ping every interval; one silent for a whole interval
  // after its ping is dropped. 0 turns heartbeats off.
  std::chrono::milliseconds heartbeat_interval{30000};
  std::string tls_cert_file, tls_key_file;  // both set: https/wss on PORT
  std::string redis_url;                    // empty: embedded single-node broker
  std::string redis_cluster_nodes;          // or seeds of a Redis Cluster (sharded pub/sub)
  bool redis_required = false;              // true: refuse to start without Redis
  std::string node_id;                      // cluster node name; random when empty
  std::string log_level = "info";           // one of log_levels()
  std::string log_format = "text";          // or "json": one JSON object per line
  bool console = false;                     // true: GET /console serves the developer console
  bool serve_sdk = false;                   // true: GET /sdk/realtime.js serves the SDK module
  std::string env_file = ".env";            // the working directory's, like `.dev.vars`
  std::string config_file;                  // TOML file; empty: none
};

// One setting: its names, how --help and the README document it, and how a
// text value becomes a member of `config` and back.
struct setting {
  std::string env;   // environment variable, .env key, TOML key (in lower case)
  std::string flag;  // --flag, taking `--flag value` or `--flag=value`
  // As --help shows it: show(config{}), or a parenthesised word such as
  // "(required)" or "(none)" for a setting that has no value by default.
  std::string default_value;
  std::string help;  // what it does; ends with the accepted values when `choices` is set
  // The accepted values of an enumeration (every other value is refused);
  // empty for free text and numbers.
  std::vector<std::string> choices;
  // Parses and validates one text value into `c`: nullopt when accepted, else
  // a one-line reason (load() prefixes "NAME: "). Cross-setting rules (TLS
  // pairs, the required secret) are load()'s, after every row.
  std::function<std::optional<std::string>(const std::string& text, config& c)> parse;
  // The current value as describe() prints it; parse accepts it back, except
  // for JWT_SECRET, which shows only its length: "(N bytes)".
  std::function<std::string(const config& c)> show;
};

// Every setting, in the order of --help, describe() and the README. Built on
// first use; safe to call from any thread.
const std::vector<setting>& settings();

// The values LOG_LEVEL accepts (the spdlog level names), in rising severity.
const std::vector<std::string>& log_levels();

// The outcome of reading argv/env/file. `error` is a one-line explanation when
// the configuration is unusable (the caller prints it and exits non-zero).
struct load_result {
  config cfg;
  std::vector<std::string> warnings;
  std::optional<std::string> error;
  bool help = false;
  bool check_only = false;  // --check-config: validate, print, exit
};

// Settings from a TOML file: keys are the settings' names in lower case
// (`port = 8787`, `jwt_secret = "..."`), values strings, integers or booleans.
// CONFIG_FILE itself and names of no setting are errors.
struct toml_settings {
  std::unordered_map<std::string, std::string> values;  // by environment name
  std::optional<std::string> error;
};
toml_settings parse_toml_settings(const std::string& text);

// The effective configuration as one "NAME=value" line per setting, in the
// table's order, the secret masked.
std::string describe(const config& c);

using env_lookup = std::function<std::optional<std::string>(const std::string&)>;
using file_reader = std::function<std::optional<std::string>(const std::string&)>;

// `args` are the flags after the program name (and subcommand). Flags take
// `--name value` or `--name=value`. Unknown flags are errors. The first value
// that a row refuses is the error. ENV_FILE is read from flags and the
// environment only; CONFIG_FILE from those and the .env file.
load_result load(const std::vector<std::string>& args, const env_lookup& env,
                 const file_reader& read_file);

// Parses KEY=VALUE lines (# comments, blank lines, optional `export `, single or
// double quotes around the value).
std::vector<std::pair<std::string, std::string>> parse_env_file(const std::string& text);

// --help text listing every setting with its default.
std::string help_text(const std::string& program);

}  // namespace hf::config
