#include "config/config.hpp"

#include <toml++/toml.h>

#include <cctype>
#include <charconv>
#include <sstream>
#include <thread>
#include <unordered_map>

namespace hf::config {

const std::vector<setting_doc>& settings() {
  static const std::vector<setting_doc> docs = {
      {"JWT_SECRET", "--jwt-secret", "(required)",
       "HS256 key for every token (raw UTF-8 bytes); at least 32 bytes recommended"},
      {"HOST", "--host", "127.0.0.1", "address to listen on (0.0.0.0 for all interfaces)"},
      {"PORT", "--port", "8787", "TCP port (0 picks a free one and logs it)"},
      {"THREADS", "--threads", "0",
       "worker threads, each owning a shard of users; 0 = one per core"},
      {"ACK_TIMEOUT_MS", "--ack-timeout-ms", "5000",
       "longest a publish waits for acks; also the cap for a request's ackTimeoutMs"},
      {"MAX_BODY_BYTES", "--max-body-bytes", "1048576", "largest POST /publish body (413 above)"},
      {"MAX_MESSAGE_BYTES", "--max-message-bytes", "65536",
       "largest WebSocket message from a client (close 1009 above)"},
      {"MAX_FILTERS_PER_SOCKET", "--max-filters-per-socket", "1000",
       "filters one socket may hold; further subscribes are ignored"},
      {"MAX_QUEUED_BYTES", "--max-queued-bytes", "4194304",
       "outbound bytes queued for one socket before it is closed as a slow consumer (1008)"},
      {"MAX_QUEUED_MESSAGES", "--max-queued-messages", "1024",
       "frames queued for one socket before it is closed as a slow consumer (1008)"},
      {"MAX_HEADER_BYTES", "--max-header-bytes", "16384", "request line + headers (431 above)"},
      {"MAX_URI_BYTES", "--max-uri-bytes", "8192", "request target, incl. ?token= (414 above)"},
      {"REQUEST_TIMEOUT_MS", "--request-timeout-ms", "15000",
       "a whole HTTP request must arrive within this (408); also the keep-alive idle limit"},
      {"MAX_CONNECTIONS", "--max-connections", "0",
       "open connections (HTTP + WebSocket) before new ones get 503; 0 = the open-file limit only"},
      {"MAX_SOCKETS_PER_USER", "--max-sockets-per-user", "10000",
       "WebSockets one user may hold; further upgrades get 429"},
      {"DRAIN_TIMEOUT_MS", "--drain-timeout-ms", "10000",
       "on SIGTERM, the longest wait for sockets to close before exiting"},
      {"DRAIN_SPREAD_MS", "--drain-spread-ms", "1000",
       "on SIGTERM, 1001 closes are spread over this long so clients do not reconnect at once"},
      {"DRAIN_NOTICE_MS", "--drain-notice-ms", "0",
       "on SIGTERM, answer /readyz 503 this long (still serving) before draining"},
      {"HEARTBEAT_INTERVAL_MS", "--heartbeat-interval-ms", "30000",
       "ping sockets idle this long; drop one silent for another interval (0 = off)"},
      {"TLS_CERT_FILE", "--tls-cert-file", "(none)",
       "PEM certificate chain: with TLS_KEY_FILE, the port speaks https/wss (TLS 1.2+)"},
      {"TLS_KEY_FILE", "--tls-key-file", "(none)", "PEM private key for TLS_CERT_FILE"},
      {"REDIS_URL", "--redis-url", "(none)",
       "redis://host:port switches on cluster mode; without it the node is self-contained"},
      {"REDIS_REQUIRED", "--redis-required", "0",
       "1: refuse to start when Redis cannot be reached; 0: start and serve locally, retrying"},
      {"NODE_ID", "--node-id", "(random)", "this node's name in the cluster (unique per node)"},
      {"LOG_LEVEL", "--log-level", "info", "trace, debug, info, warn, error, off"},
      {"LOG_FORMAT", "--log-format", "text", "text, or json (one object per line)"},
      {"ENV_FILE", "--env-file", ".env", "KEY=VALUE file read at start-up when present"},
      {"CONFIG_FILE", "--config", "(none)",
       "TOML file with the same settings in lower case (port = 8787); lowest precedence"},
  };
  return docs;
}

toml_settings parse_toml_settings(const std::string& text) {
  toml_settings out;
  toml::table parsed;
  try {  // start-up only: Debian's toml++ reports errors by exception
    parsed = toml::parse(text);
  } catch (const toml::parse_error& e) {
    std::ostringstream why;
    why << e.description() << " (line " << e.source().begin.line << ")";
    out.error = why.str();
    return out;
  }
  for (auto&& [key, node] : parsed) {
    std::string env_name;
    for (char c : key.str())
      env_name.push_back(static_cast<char>(std::toupper(static_cast<unsigned char>(c))));
    bool known = false;
    for (const auto& d : settings()) known = known || d.env == env_name;
    if (!known || env_name == "CONFIG_FILE") {
      out.error = "unknown setting '" + std::string(key.str()) + "' (see --help for the names)";
      return out;
    }
    if (node.is_string())
      out.values[env_name] = *node.value<std::string>();
    else if (node.is_integer())
      out.values[env_name] = std::to_string(*node.value<std::int64_t>());
    else if (node.is_boolean())
      out.values[env_name] = *node.value<bool>() ? "1" : "0";
    else {
      out.error = "setting '" + std::string(key.str()) + "' must be a string, integer or boolean";
      return out;
    }
  }
  return out;
}

std::vector<std::pair<std::string, std::string>> parse_env_file(const std::string& text) {
  std::vector<std::pair<std::string, std::string>> out;
  std::istringstream in(text);
  std::string line;
  auto trim = [](std::string s) {
    std::size_t b = s.find_first_not_of(" \t\r");
    std::size_t e = s.find_last_not_of(" \t\r");
    return b == std::string::npos ? std::string{} : s.substr(b, e - b + 1);
  };
  while (std::getline(in, line)) {
    line = trim(line);
    if (line.empty() || line[0] == '#') continue;
    if (line.rfind("export ", 0) == 0) line = trim(line.substr(7));
    std::size_t eq = line.find('=');
    if (eq == std::string::npos) continue;
    std::string key = trim(line.substr(0, eq));
    std::string value = trim(line.substr(eq + 1));
    if (value.size() >= 2 && (value.front() == '"' || value.front() == '\'') &&
        value.back() == value.front())
      value = value.substr(1, value.size() - 2);
    out.emplace_back(key, value);
  }
  return out;
}

namespace {

template <class T>
bool parse_number(const std::string& s, T& out, T min, T max) {
  T v{};
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc{} || p != s.data() + s.size() || v < min || v > max) return false;
  out = v;
  return true;
}

}  // namespace

load_result load(const std::vector<std::string>& args, const env_lookup& env,
                 const file_reader& read_file) {
  load_result r;
  std::unordered_map<std::string, std::string> from_flags;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--help" || a == "-h") {
      r.help = true;
      return r;
    }
    if (a == "--check-config") {
      r.check_only = true;
      continue;
    }
    std::string name = a, value;
    bool has_value = false;
    if (std::size_t eq = a.find('='); eq != std::string::npos) {
      name = a.substr(0, eq);
      value = a.substr(eq + 1);
      has_value = true;
    }
    const setting_doc* doc = nullptr;
    for (const auto& d : settings())
      if (d.flag == name) doc = &d;
    if (!doc) {
      r.error = "unknown option '" + name + "' (see --help)";
      return r;
    }
    if (!has_value) {
      if (i + 1 >= args.size()) {
        r.error = "option " + name + " needs a value";
        return r;
      }
      value = args[++i];
    }
    from_flags[doc->env] = value;
  }

  // Precedence: flag > environment > env file > default.
  std::string env_file = ".env";
  if (auto it = from_flags.find("ENV_FILE"); it != from_flags.end())
    env_file = it->second;
  else if (auto e = env("ENV_FILE"))
    env_file = *e;
  std::unordered_map<std::string, std::string> from_file;
  if (!env_file.empty())
    if (auto text = read_file(env_file))
      for (auto& [k, v] : parse_env_file(*text)) from_file[k] = v;

  // The TOML config file (CONFIG_FILE / --config): lowest precedence.
  std::unordered_map<std::string, std::string> from_toml;
  std::string config_file;
  if (auto it = from_flags.find("CONFIG_FILE"); it != from_flags.end())
    config_file = it->second;
  else if (auto e = env("CONFIG_FILE"))
    config_file = *e;
  else if (auto it = from_file.find("CONFIG_FILE"); it != from_file.end())
    config_file = it->second;
  if (!config_file.empty()) {
    auto text = read_file(config_file);
    if (!text) {
      r.error = "CONFIG_FILE: cannot read '" + config_file + "'";
      return r;
    }
    auto parsed = parse_toml_settings(*text);
    if (parsed.error) {
      r.error = config_file + ": " + *parsed.error;
      return r;
    }
    from_toml = std::move(parsed.values);
  }

  auto get = [&](const std::string& key) -> std::optional<std::string> {
    if (auto it = from_flags.find(key); it != from_flags.end()) return it->second;
    if (auto e = env(key)) return e;
    if (auto it = from_file.find(key); it != from_file.end()) return it->second;
    if (auto it = from_toml.find(key); it != from_toml.end()) return it->second;
    return std::nullopt;
  };
  auto bad = [&](const std::string& key, const std::string& why) { r.error = key + ": " + why; };

  config& c = r.cfg;
  c.env_file = env_file;
  if (auto v = get("JWT_SECRET")) c.jwt_secret = *v;
  if (auto v = get("HOST")) c.host = *v;
  if (auto v = get("PORT"); v && !parse_number<std::uint16_t>(*v, c.port, 0, 65535))
    bad("PORT", "must be an integer 0-65535, got '" + *v + "'");
  if (auto v = get("THREADS"); v && !parse_number<unsigned>(*v, c.threads, 0, 1024))
    bad("THREADS", "must be an integer 0-1024, got '" + *v + "'");
  std::int64_t ms = c.ack_timeout.count();
  if (auto v = get("ACK_TIMEOUT_MS"); v && !parse_number<std::int64_t>(*v, ms, 0, 3'600'000))
    bad("ACK_TIMEOUT_MS", "must be an integer 0-3600000, got '" + *v + "'");
  c.ack_timeout = std::chrono::milliseconds(ms);
  auto ms_setting = [&](const char* key, std::chrono::milliseconds& field, std::int64_t min) {
    std::int64_t v = field.count();
    if (auto text = get(key); text && !parse_number<std::int64_t>(*text, v, min, 86'400'000))
      bad(key, "must be an integer " + std::to_string(min) + "-86400000 (ms), got '" + *text + "'");
    field = std::chrono::milliseconds(v);
  };
  ms_setting("HEARTBEAT_INTERVAL_MS", c.heartbeat_interval, 0);
  ms_setting("REQUEST_TIMEOUT_MS", c.request_timeout, 100);
  ms_setting("DRAIN_TIMEOUT_MS", c.drain_timeout, 0);
  ms_setting("DRAIN_SPREAD_MS", c.drain_spread, 0);
  ms_setting("DRAIN_NOTICE_MS", c.drain_notice, 0);
  auto size_setting = [&](const char* key, std::size_t& field, std::size_t min, std::size_t max) {
    if (auto v = get(key); v && !parse_number<std::size_t>(*v, field, min, max))
      bad(key, "must be an integer " + std::to_string(min) + "-" + std::to_string(max) + ", got '" +
                   *v + "'");
  };
  size_setting("MAX_BODY_BYTES", c.max_body_bytes, 64, std::size_t{1} << 30);
  size_setting("MAX_MESSAGE_BYTES", c.max_message_bytes, 64, std::size_t{1} << 30);
  size_setting("MAX_FILTERS_PER_SOCKET", c.max_filters_per_socket, 1, 1'000'000);
  size_setting("MAX_QUEUED_BYTES", c.max_queued_bytes, 1024, std::size_t{1} << 34);
  size_setting("MAX_QUEUED_MESSAGES", c.max_queued_messages, 1, 1'000'000);
  size_setting("MAX_HEADER_BYTES", c.max_header_bytes, 1024, 1 << 20);
  size_setting("MAX_URI_BYTES", c.max_uri_bytes, 256, 1 << 20);
  size_setting("MAX_CONNECTIONS", c.max_connections, 0, 100'000'000);
  size_setting("MAX_SOCKETS_PER_USER", c.max_sockets_per_user, 1, 100'000'000);
  if (auto v = get("LOG_FORMAT")) {
    if (*v != "text" && *v != "json") bad("LOG_FORMAT", "must be text or json, got '" + *v + "'");
    c.log_format = *v;
  }
  if (auto v = get("TLS_CERT_FILE")) c.tls_cert_file = *v;
  if (auto v = get("TLS_KEY_FILE")) c.tls_key_file = *v;
  if (c.tls_cert_file.empty() != c.tls_key_file.empty())
    bad(c.tls_cert_file.empty() ? "TLS_CERT_FILE" : "TLS_KEY_FILE",
        "TLS needs both TLS_CERT_FILE and TLS_KEY_FILE");
  if (auto v = get("REDIS_URL")) {
    c.redis_url = *v;
    if (!c.redis_url.empty() && c.redis_url.rfind("redis://", 0) != 0)
      bad("REDIS_URL", "must look like redis://host:port, got '" + *v + "'");
  }
  if (auto v = get("REDIS_REQUIRED")) {
    if (*v != "0" && *v != "1") bad("REDIS_REQUIRED", "must be 0 or 1, got '" + *v + "'");
    c.redis_required = *v == "1";
  }
  if (auto v = get("NODE_ID")) c.node_id = *v;
  if (auto v = get("LOG_LEVEL")) {
    static const char* levels[] = {"trace", "debug", "info", "warn", "error", "critical", "off"};
    bool ok = false;
    for (const char* l : levels) ok = ok || *v == l;
    if (!ok) bad("LOG_LEVEL", "must be one of trace, debug, info, warn, error, critical, off");
    c.log_level = *v;
  }
  if (r.error) return r;

  if (c.jwt_secret.empty()) {
    r.error = "JWT_SECRET is not set: export JWT_SECRET=<at least 32 random bytes> (or put it in " +
              env_file + ", or pass --jwt-secret); `make run` creates one for development";
    return r;
  }
  if (c.jwt_secret.size() < 32)
    r.warnings.push_back(
        "JWT_SECRET is shorter than 32 bytes; HS256 keys that short are guessable");
  if (c.threads == 0) c.threads = std::max(1u, std::thread::hardware_concurrency());
  return r;
}

std::string describe(const config& c) {
  std::ostringstream o;
  o << "JWT_SECRET=(" << c.jwt_secret.size() << " bytes)\n"
    << "HOST=" << c.host << "\nPORT=" << c.port << "\nTHREADS=" << c.threads
    << "\nACK_TIMEOUT_MS=" << c.ack_timeout.count() << "\nMAX_BODY_BYTES=" << c.max_body_bytes
    << "\nMAX_MESSAGE_BYTES=" << c.max_message_bytes
    << "\nMAX_FILTERS_PER_SOCKET=" << c.max_filters_per_socket
    << "\nMAX_QUEUED_BYTES=" << c.max_queued_bytes
    << "\nMAX_QUEUED_MESSAGES=" << c.max_queued_messages
    << "\nMAX_HEADER_BYTES=" << c.max_header_bytes << "\nMAX_URI_BYTES=" << c.max_uri_bytes
    << "\nREQUEST_TIMEOUT_MS=" << c.request_timeout.count()
    << "\nMAX_CONNECTIONS=" << c.max_connections
    << "\nMAX_SOCKETS_PER_USER=" << c.max_sockets_per_user
    << "\nDRAIN_TIMEOUT_MS=" << c.drain_timeout.count()
    << "\nDRAIN_SPREAD_MS=" << c.drain_spread.count()
    << "\nDRAIN_NOTICE_MS=" << c.drain_notice.count()
    << "\nHEARTBEAT_INTERVAL_MS=" << c.heartbeat_interval.count() << "\nREDIS_URL=" << c.redis_url
    << "\nREDIS_REQUIRED=" << (c.redis_required ? 1 : 0) << "\nNODE_ID=" << c.node_id
    << "\nLOG_LEVEL=" << c.log_level << "\nLOG_FORMAT=" << c.log_format << "\n";
  return o.str();
}

std::string help_text(const std::string& program) {
  std::ostringstream o;
  o << "HopeFlow Realtime: per-user WebSocket fan-out with an acknowledged publish API.\n\n"
    << "usage:\n"
    << "  " << program << " [serve] [options]     start the server\n"
    << "  " << program << " token --user ID [--ttl SECONDS] [--claims JSON] [options]\n"
    << "                                  print an HS256 token signed with JWT_SECRET\n\n"
    << "options (flag > environment variable > env file > default):\n";
  for (const auto& d : settings()) {
    o << "  " << d.flag << " <v>";
    std::size_t pad = d.flag.size() + 4 < 28 ? 28 - d.flag.size() - 4 : 1;
    o << std::string(pad, ' ') << d.env << " (default " << d.default_value << ")\n"
      << std::string(30, ' ') << d.help << "\n";
  }
  o << "  --check-config              validate the configuration, print it, exit\n"
    << "  --help                      this text\n";
  return o.str();
}

}  // namespace hf::config
