#include "config/config.hpp"

#include <toml++/toml.h>

#include <algorithm>
#include <cctype>
#include <sstream>
#include <thread>
#include <unordered_map>

namespace hf::config {

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

const setting* setting_by_flag(const std::string& flag) {
  for (const auto& s : settings())
    if (s.flag == flag) return &s;
  return nullptr;
}

std::optional<std::string> lookup(const std::unordered_map<std::string, std::string>& values,
                                  const std::string& key) {
  if (auto it = values.find(key); it != values.end()) return it->second;
  return std::nullopt;
}

// The rules that involve more than one setting, once every row has parsed.
void check_together(load_result& r) {
  config& c = r.cfg;
  if (c.tls_cert_file.empty() != c.tls_key_file.empty()) {
    r.error = std::string(c.tls_cert_file.empty() ? "TLS_CERT_FILE" : "TLS_KEY_FILE") +
              ": TLS needs both TLS_CERT_FILE and TLS_KEY_FILE";
    return;
  }
  if (c.webhook_url.empty() != c.webhook_secret.empty()) {
    r.error = c.webhook_url.empty()
                  ? "WEBHOOK_SECRET: set WEBHOOK_URL too (events are signed with the secret and "
                    "sent to the URL), or neither"
                  : "WEBHOOK_URL: set WEBHOOK_SECRET too (every event is signed with it), or "
                    "neither";
    return;
  }
  if (!c.redis_url.empty() && !c.redis_cluster_nodes.empty()) {
    r.error =
        "REDIS_CLUSTER_NODES: set either REDIS_URL (one Redis) or REDIS_CLUSTER_NODES (a Redis "
        "Cluster), not both";
    return;
  }
  bool public_keys = !c.jwt_public_key_file.empty() || !c.jwks_file.empty() || !c.jwks_url.empty();
  if (c.jwt_secret.empty() && !public_keys) {
    r.error = "JWT_SECRET is not set: export JWT_SECRET=<at least 32 random bytes> (or put it in " +
              c.env_file +
              ", or pass --jwt-secret; or verify RS256/ES256 tokens with JWT_PUBLIC_KEY_FILE, "
              "JWKS_FILE or JWKS_URL); `make run` creates one for development";
    return;
  }
  if (!c.publish_secret.empty() && c.publish_secret == c.jwt_secret) {
    r.error =
        "PUBLISH_SECRET: must differ from JWT_SECRET (or every end-user token would be a "
        "publisher token)";
    return;
  }
  if (!c.jwt_secret.empty() && c.jwt_secret.size() < 32)
    r.warnings.push_back(
        "JWT_SECRET is shorter than 32 bytes; HS256 keys that short are guessable");
  if (!c.publish_secret.empty() && c.publish_secret.size() < 32)
    r.warnings.push_back(
        "PUBLISH_SECRET is shorter than 32 bytes; HS256 keys that short are guessable");
  if (c.threads == 0) c.threads = std::max(1u, std::thread::hardware_concurrency());
}

}  // namespace

load_result load(const std::vector<std::string>& args, const env_lookup& env,
                 const file_reader& read_file) {
  load_result r;
  std::unordered_map<std::string, std::string> from_flags;  // by environment name
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
    const setting* s = setting_by_flag(name);
    if (!s) {
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
    from_flags[s->env] = value;
  }

  // ENV_FILE and CONFIG_FILE say where the other settings come from, so they
  // are resolved first and from fewer places: ENV_FILE from a flag or the
  // environment, CONFIG_FILE also from the .env file (never from itself).
  std::string env_file = config{}.env_file;
  if (auto v = lookup(from_flags, "ENV_FILE"))
    env_file = *v;
  else if (auto e = env("ENV_FILE"))
    env_file = *e;
  std::unordered_map<std::string, std::string> from_file;
  if (!env_file.empty())
    if (auto text = read_file(env_file))
      for (auto& [k, v] : parse_env_file(*text)) from_file[k] = v;

  std::string config_file = config{}.config_file;
  if (auto v = lookup(from_flags, "CONFIG_FILE"))
    config_file = *v;
  else if (auto e = env("CONFIG_FILE"))
    config_file = *e;
  else if (auto f = lookup(from_file, "CONFIG_FILE"))
    config_file = *f;
  std::unordered_map<std::string, std::string> from_toml;
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

  // Precedence: flag > environment > env file > TOML file > default.
  auto get = [&](const std::string& key) -> std::optional<std::string> {
    if (key == "ENV_FILE") return env_file;
    if (key == "CONFIG_FILE") return config_file;
    if (auto v = lookup(from_flags, key)) return v;
    if (auto v = env(key)) return v;
    if (auto v = lookup(from_file, key)) return v;
    return lookup(from_toml, key);
  };
  for (const auto& s : settings()) {
    auto value = get(s.env);
    if (!value) continue;
    if (auto why = s.parse(*value, r.cfg)) {
      r.error = s.env + ": " + *why;
      return r;
    }
  }
  check_together(r);
  return r;
}

std::string describe(const config& c) {
  std::string out;
  for (const auto& s : settings()) out += s.env + "=" + s.show(c) + "\n";
  return out;
}

std::string help_text(const std::string& program) {
  std::ostringstream o;
  o << "HopeFlow Realtime: per-user WebSocket fan-out with an acknowledged publish API.\n\n"
    << "usage:\n"
    << "  " << program << " [serve] [options]     start the server\n"
    << "  " << program << " token --user ID [--ttl SECONDS] [--claims JSON] [options]\n"
    << "                                  print an HS256 token signed with JWT_SECRET\n"
    << "  " << program << " token --publisher [--ttl SECONDS] [options]\n"
    << "                                  print a publisher token signed with PUBLISH_SECRET\n"
    << "  " << program
    << " listen --user ID --filter type=T[,key=value...] [--recover] [--device D] [options]\n"
    << "                                  open a socket, print and ack every envelope\n"
    << "  " << program
    << " publish --user ID [--type T] [--payload JSON] [--receipts] [--until first|all|N] "
       "[--cancel] [--webhook] [--idempotency-key K] [options]\n"
    << "                                  POST /publish and print the answer\n"
    << "  " << program << " devices --user ID [options]\n"
    << "                                  GET /users/ID/devices: print who is online\n"
    << "  " << program << " version         print the version (also --version)\n\n"
    << "options (flag > environment variable > env file > config file > default):\n";
  for (const auto& s : settings()) {
    o << "  " << s.flag << " <v>";
    std::size_t pad = s.flag.size() + 4 < 28 ? 28 - s.flag.size() - 4 : 1;
    o << std::string(pad, ' ') << s.env << " (default " << s.default_value << ")\n"
      << std::string(30, ' ') << s.help << "\n";
  }
  o << "  --check-config              validate the configuration, print it, exit\n"
    << "  --help                      this text\n";
  return o.str();
}

}  // namespace hf::config
