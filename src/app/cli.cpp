#include "app/cli.hpp"

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <sys/resource.h>

#include <boost/json/parse.hpp>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <sstream>
#include <thread>

#include "app/client_cli.hpp"
#include "app/server.hpp"
#include "auth/jwt.hpp"
#include "config/config.hpp"
#include "core/js_json.hpp"

namespace hf::app {
namespace {

std::optional<std::string> env_var(const std::string& name) {
  const char* v = std::getenv(name.c_str());
  if (!v) return std::nullopt;
  return std::string(v);
}

std::optional<std::string> read_text_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) return std::nullopt;
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// %j: the message as a JSON string body (quotes, backslashes and control
// characters escaped), for LOG_FORMAT=json.
class json_message_flag final : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg& msg, const std::tm&,
              spdlog::memory_buf_t& dest) override {
    std::string escaped;
    core::append_js_string(escaped, std::string_view(msg.payload.data(), msg.payload.size()));
    dest.append(escaped.data() + 1, escaped.data() + escaped.size() - 1);  // without the quotes
  }
  std::unique_ptr<custom_flag_formatter> clone() const override {
    return std::make_unique<json_message_flag>();
  }
};

// One line per event on stderr (journald and container runtimes collect it).
void setup_logging(const std::string& level, const std::string& format) {
  auto logger = spdlog::stderr_color_mt("hopeflow");
  spdlog::set_default_logger(logger);
  if (format == "json") {
    auto f = std::make_unique<spdlog::pattern_formatter>();
    f->add_flag<json_message_flag>('j').set_pattern(
        R"({"time":"%Y-%m-%dT%H:%M:%S.%e%z","level":"%l","msg":"%j"})");
    spdlog::set_formatter(std::move(f));
  } else {
    spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%e%z %l %v");
  }
  spdlog::set_level(spdlog::level::from_str(level));
}

// The server has no connection limit of its own below the OS's: raise the
// soft RLIMIT_NOFILE to the hard one (as nginx's worker_rlimit_nofile or Go's
// runtime do), and say what it is.
void raise_fd_limit() {
  rlimit r{};
  if (getrlimit(RLIMIT_NOFILE, &r) != 0) return;
  if (r.rlim_cur < r.rlim_max) {
    r.rlim_cur = r.rlim_max;
    setrlimit(RLIMIT_NOFILE, &r);
  }
  spdlog::info("open-file limit {} (raise LimitNOFILE for more connections)", r.rlim_cur);
}

int serve(const std::string& program, const std::vector<std::string>& args) {
  auto loaded = config::load(args, env_var, read_text_file);
  if (loaded.help) {
    std::cout << config::help_text(program);
    return 0;
  }
  if (loaded.error) {
    std::cerr << "hopeflow-realtime: " << *loaded.error << "\n";
    return 2;
  }
  if (loaded.check_only) {
    for (const auto& w : loaded.warnings) std::cout << "warning: " << w << "\n";
    std::cout << config::describe(loaded.cfg) << "configuration OK\n";
    return 0;
  }
  setup_logging(loaded.cfg.log_level, loaded.cfg.log_format);
  for (const auto& w : loaded.warnings) spdlog::warn("{}", w);

  raise_fd_limit();
  block_termination_signals();  // before any thread starts: only sigwait sees them
  server srv(loaded.cfg);
  try {
    srv.start();
  } catch (const std::exception& e) {
    spdlog::critical("{}", e.what());
    return 1;
  }
  int sig = wait_for_termination_signal();
  spdlog::info("received {}, shutting down", sig == SIGTERM ? "SIGTERM" : "SIGINT");
  if (loaded.cfg.drain_notice.count() > 0) {
    srv.announce_drain();
    spdlog::info("drain notice: /readyz answers 503 for {} ms before the drain",
                 loaded.cfg.drain_notice.count());
    std::this_thread::sleep_for(loaded.cfg.drain_notice);
  }
  srv.stop();
  return 0;
}

// `token --user ID | --publisher [--ttl SECONDS] [--claims JSON] [config options]`
int token(const std::string& program, const std::vector<std::string>& args) {
  std::string user;
  bool publisher = false;
  long long ttl = 3600;
  std::string claims_json;
  std::vector<std::string> rest;
  for (std::size_t i = 0; i < args.size(); ++i) {
    auto value = [&](const char* name) -> std::optional<std::string> {
      if (i + 1 >= args.size()) {
        std::cerr << "hopeflow-realtime token: " << name << " needs a value\n";
        return std::nullopt;
      }
      return args[++i];
    };
    if (args[i] == "--publisher") {
      publisher = true;
    } else if (args[i] == "--user") {
      auto v = value("--user");
      if (!v) return 2;
      user = *v;
    } else if (args[i] == "--ttl") {
      auto v = value("--ttl");
      if (!v) return 2;
      char* end = nullptr;
      ttl = std::strtoll(v->c_str(), &end, 10);
      if (*end != '\0' || ttl <= 0) {
        std::cerr << "hopeflow-realtime token: --ttl must be a positive number of seconds\n";
        return 2;
      }
    } else if (args[i] == "--claims") {
      auto v = value("--claims");
      if (!v) return 2;
      claims_json = *v;
    } else {
      rest.push_back(args[i]);
    }
  }
  auto loaded = config::load(rest, env_var, read_text_file);
  if (loaded.help || user.empty() == !publisher) {
    std::cerr << "usage: " << program
              << " token --user ID | --publisher [--ttl SECONDS (default 3600)] [--claims JSON] "
                 "[options]\n"
                 "  --user ID     an end user's token, signed with JWT_SECRET\n"
                 "  --publisher   a token that may POST /publish, signed with PUBLISH_SECRET\n";
    return loaded.help ? 0 : 2;
  }
  if (loaded.error) {
    std::cerr << "hopeflow-realtime: " << *loaded.error << "\n";
    return 2;
  }
  const std::string& key = publisher ? loaded.cfg.publish_secret : loaded.cfg.jwt_secret;
  if (key.empty()) {
    std::cerr << "hopeflow-realtime token: " << (publisher ? "PUBLISH_SECRET" : "JWT_SECRET")
              << " is not set\n";
    return 2;
  }
  boost::json::object claims;
  if (!claims_json.empty()) {
    boost::system::error_code ec;
    auto v = boost::json::parse(claims_json, ec);
    if (ec || !v.is_object()) {
      std::cerr << "hopeflow-realtime token: --claims must be a JSON object\n";
      return 2;
    }
    claims = v.get_object();
  }
  auto now = std::chrono::duration_cast<std::chrono::seconds>(
                 std::chrono::system_clock::now().time_since_epoch())
                 .count();
  if (!publisher) claims[loaded.cfg.user_claim] = user;
  claims["iat"] = now;
  claims["exp"] = now + ttl;
  std::cout << auth::mint_hs256(key, claims) << "\n";
  return 0;
}

}  // namespace

int run_cli(int argc, char** argv) {
  std::string program = argc > 0 ? argv[0] : "hopeflow-realtime";
  std::vector<std::string> args(argv + (argc > 0 ? 1 : 0), argv + argc);
  if (!args.empty() && args[0] == "token") return token(program, {args.begin() + 1, args.end()});
  auto load = [](const std::vector<std::string>& rest) {
    return config::load(rest, env_var, read_text_file);
  };
  if (!args.empty() && args[0] == "listen")
    return listen_command(program, {args.begin() + 1, args.end()}, load);
  if (!args.empty() && args[0] == "publish")
    return publish_command(program, {args.begin() + 1, args.end()}, load);
  if (!args.empty() && args[0] == "devices")
    return devices_command(program, {args.begin() + 1, args.end()}, load);
  if (!args.empty() && args[0] == "serve") args.erase(args.begin());
  if (!args.empty() && (args[0] == "--version" || args[0] == "version")) {
    std::cout << "hopeflow-realtime 0.1.0\n";
    return 0;
  }
  return serve(program, args);
}

}  // namespace hf::app
