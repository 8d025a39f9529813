#include "app/client_cli.hpp"

#include <unistd.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/url/parse.hpp>
#include <chrono>
#include <csignal>
#include <iostream>
#include <optional>

#include "auth/jwt.hpp"

namespace hf::app {
namespace {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
namespace websocket = beast::websocket;
namespace json = boost::json;
using tcp = asio::ip::tcp;

// The server looks at 50 filters per subscribe message (docs/protocol.md section 4).
constexpr std::size_t filters_per_message = 50;
// A publish answer holds at most the server's MAX_RESULTS_BYTES; this bounds
// what the tool buffers if it is pointed at something else.
constexpr std::uint64_t max_answer_bytes = 64ull << 20;
// The server answers by the ack deadline (5 s, or ackTimeoutMs capped by its
// configuration); this bounds a publish to a server that never answers
// (an alarm: the tool's I/O is synchronous).
constexpr unsigned publish_timeout_s = 65;

extern "C" void publish_timed_out(int) {
  static const char msg[] = "hopeflow-realtime publish: no answer within 65 s\n";
  (void)!::write(2, msg, sizeof msg - 1);
  ::_exit(1);
}

struct endpoint {
  bool secure = false;
  std::string host, port, base_path;  // base_path without a trailing '/'
  std::string host_header() const {
    bool default_port = port == (secure ? "443" : "80");
    return default_port ? host : host + ":" + port;
  }
};

// http://, https://, ws://, wss:// (ws and http are the same server).
std::optional<endpoint> parse_url(const std::string& url) {
  auto u = boost::urls::parse_uri(url);
  if (!u || u->host().empty()) return std::nullopt;
  endpoint e;
  std::string scheme(u->scheme());
  if (scheme == "https" || scheme == "wss")
    e.secure = true;
  else if (scheme != "http" && scheme != "ws")
    return std::nullopt;
  e.host = u->host();
  e.port = u->has_port() ? std::string(u->port()) : (e.secure ? "443" : "80");
  e.base_path = std::string(u->encoded_path());
  while (!e.base_path.empty() && e.base_path.back() == '/') e.base_path.pop_back();
  return e;
}

// The flags both commands share; the rest go to the configuration loader.
struct common_args {
  std::string url, token, user;
  std::vector<std::string> rest;
};

// Walks `args`; `own(name, value)` takes a subcommand flag with a value and
// returns false for names it does not know. Returns an error line or nullopt.
std::optional<std::string> split_args(
    const std::vector<std::string>& args, common_args& c,
    const std::function<std::optional<bool>(
        const std::string&, const std::function<std::optional<std::string>()>&)>& own) {
  for (std::size_t i = 0; i < args.size(); ++i) {
    std::optional<std::string> missing;
    auto value = [&]() -> std::optional<std::string> {
      if (i + 1 >= args.size()) {
        missing = args[i] + " needs a value";
        return std::nullopt;
      }
      return args[++i];
    };
    const std::string& a = args[i];
    if (a == "--url" || a == "--token" || a == "--user") {
      auto v = value();
      if (!v) return missing;
      (a == "--url" ? c.url : a == "--token" ? c.token : c.user) = *v;
      continue;
    }
    auto taken = own(a, value);
    if (missing) return missing;
    if (!taken) return std::string("bad value for ") + a;
    if (!*taken) c.rest.push_back(a);
  }
  return std::nullopt;
}

std::int64_t now_seconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// The server's own address from the configuration, as a client reaches it.
std::string default_url(const config::config& cfg) {
  std::string host = cfg.host == "0.0.0.0" || cfg.host.empty() ? "127.0.0.1"
                     : cfg.host == "::"                        ? "[::1]"
                                                               : cfg.host;
  bool tls = !cfg.tls_cert_file.empty();
  return std::string(tls ? "https://" : "http://") + host + ":" + std::to_string(cfg.port);
}

struct prepared {
  endpoint where;
  std::string token;
};

// URL and token: given, or from the configuration (the secret read as
// `token` reads it). `publisher`: a token that may publish.
std::optional<prepared> prepare(const char* cmd, common_args& c, const config_loader& load,
                                bool publisher) {
  auto loaded = load(c.rest);
  if (loaded.error && (c.token.empty() || c.url.empty())) {
    std::cerr << "hopeflow-realtime " << cmd << ": " << *loaded.error << "\n";
    return std::nullopt;
  }
  prepared p;
  std::string url = c.url.empty() ? default_url(loaded.cfg) : c.url;
  auto where = parse_url(url);
  if (!where) {
    std::cerr << "hopeflow-realtime " << cmd << ": --url must be http://, https://, ws:// or wss://"
              << " with a host, not '" << url << "'\n";
    return std::nullopt;
  }
  p.where = *where;
  p.token = c.token;
  if (p.token.empty()) {
    json::object claims;
    bool as_publisher = publisher && !loaded.cfg.publish_secret.empty();
    const std::string& key = as_publisher ? loaded.cfg.publish_secret : loaded.cfg.jwt_secret;
    if (key.empty()) {
      std::cerr << "hopeflow-realtime " << cmd
                << ": no --token, and JWT_SECRET is not set to mint one\n";
      return std::nullopt;
    }
    if (!as_publisher) claims[loaded.cfg.user_claim] = publisher ? "hopeflow-cli" : c.user;
    claims["iat"] = now_seconds();
    claims["exp"] = now_seconds() + 24 * 3600;
    p.token = auth::mint_hs256(key, claims);
  }
  return p;
}

asio::ssl::context client_tls() {
  asio::ssl::context tls(asio::ssl::context::tls_client);
  tls.set_default_verify_paths();
  tls.set_verify_mode(asio::ssl::verify_peer);
  return tls;
}

// TCP (and TLS with SNI and host-name verification) to `e`.
template <class Stream>
bool open_transport(Stream& s, tcp::resolver& resolver, const endpoint& e,
                    boost::system::error_code& ec) {
  auto results = resolver.resolve(e.host, e.port, ec);
  if (ec) return false;
  beast::get_lowest_layer(s).connect(results, ec);
  if (ec) return false;
  if constexpr (!std::is_same_v<Stream, beast::tcp_stream>) {
    SSL_set_tlsext_host_name(s.native_handle(), e.host.c_str());
    s.set_verify_callback(asio::ssl::host_name_verification(e.host));
    s.handshake(asio::ssl::stream_base::client, ec);
  }
  return !ec;
}

// Connects to p.where (TLS for https and wss) and runs `use` on the stream:
// a beast::tcp_stream or a beast::ssl_stream over one.
template <class Use>
int with_transport(const char* cmd, const prepared& p, Use&& use) {
  asio::io_context ioc;
  tcp::resolver resolver(ioc);
  boost::system::error_code ec;
  auto failed = [&] {
    std::cerr << "hopeflow-realtime " << cmd << ": " << ec.message() << "\n";
    return 1;
  };
  if (p.where.secure) {
    auto tls = client_tls();
    beast::ssl_stream<beast::tcp_stream> s(ioc, tls);
    return open_transport(s, resolver, p.where, ec) ? use(s) : failed();
  }
  beast::tcp_stream s(ioc);
  return open_transport(s, resolver, p.where, ec) ? use(s) : failed();
}

// A JSON command-line value; nullopt when it is not JSON.
std::optional<json::value> json_arg(const std::string& text) {
  boost::system::error_code ec;
  auto v = json::parse(text, ec);
  if (ec) return std::nullopt;
  return v;
}

// A whole integer >= min; nullopt otherwise.
std::optional<long long> integer_arg(const std::string& text, long long min) {
  char* end = nullptr;
  long long n = std::strtoll(text.c_str(), &end, 10);
  if (text.empty() || *end != '\0' || n < min) return std::nullopt;
  return n;
}

// --- listen ---

struct listen_options {
  std::vector<json::object> filters;
  std::string ack = "null";  // serialised JSON
  bool recover = false;
  long long count = -1;  // envelopes to print before exiting; -1: until closed
};

// `type=chat_message,questId=q1` -> {"type":"chat_message","questId":"q1"}
std::optional<json::object> parse_filter(const std::string& text) {
  json::object f;
  std::size_t start = 0;
  while (start <= text.size()) {
    std::size_t comma = text.find(',', start);
    std::string part =
        text.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    std::size_t eq = part.find('=');
    if (eq == std::string::npos || eq == 0) return std::nullopt;
    f[part.substr(0, eq)] = part.substr(eq + 1);
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  auto type = f.if_contains("type");
  if (!type || type->as_string().empty()) return std::nullopt;
  return f;
}

template <class Stream>
int run_listen(websocket::stream<Stream>& ws, const prepared& p, const listen_options& o) {
  std::string target = p.where.base_path + "/";
  websocket::response_type res;
  ws.set_option(websocket::stream_base::decorator([&](websocket::request_type& req) {
    req.set(bhttp::field::authorization, "Bearer " + p.token);
    req.set(bhttp::field::user_agent, "hopeflow-realtime listen");
  }));
  boost::system::error_code ec;
  ws.handshake(res, p.where.host_header(), target, ec);
  if (ec) {
    if (res.result_int() != 0)
      std::cerr << "hopeflow-realtime listen: upgrade refused: HTTP " << res.result_int() << " "
                << res.body() << "\n";
    else
      std::cerr << "hopeflow-realtime listen: " << ec.message() << "\n";
    return 1;
  }
  ws.text(true);
  for (std::size_t i = 0; i < o.filters.size(); i += filters_per_message) {
    json::array chunk;
    for (std::size_t j = i; j < std::min(o.filters.size(), i + filters_per_message); ++j)
      chunk.push_back(o.filters[j]);
    ws.write(asio::buffer(json::serialize(json::object{{"type", "subscribe"}, {"filters", chunk}})),
             ec);
    if (ec) break;
  }
  if (!ec && o.recover) ws.write(asio::buffer(std::string(R"({"type":"recover"})")), ec);
  // A barrier: once the pong is back, every subscribe has been applied.
  if (!ec) ws.write(asio::buffer(std::string("ping")), ec);
  bool ready = false;
  long long printed = 0;
  beast::flat_buffer buf;
  while (!ec && printed != o.count) {
    buf.clear();
    ws.read(buf, ec);
    if (ec) break;
    std::string text = beast::buffers_to_string(buf.data());
    if (text == "pong") {
      if (!ready) std::cerr << "listening (" << o.filters.size() << " filters)\n";
      ready = true;
      continue;
    }
    std::cout << text << "\n" << std::flush;
    boost::system::error_code pe;
    auto v = json::parse(text, pe);
    if (pe || !v.is_object()) continue;
    auto id = v.as_object().if_contains("envelopeId");
    if (!id || !id->is_string()) continue;  // recovered / refreshed frames are printed only
    ++printed;
    std::string ack =
        R"({"type":"ack","envelopeId":)" + json::serialize(*id) + R"(,"result":)" + o.ack + "}";
    ws.write(asio::buffer(ack), ec);
  }
  if (printed == o.count) {
    ws.close(websocket::close_code::normal, ec);
    return 0;
  }
  if (ec == websocket::error::closed)
    std::cerr << "hopeflow-realtime listen: closed by the server: " << ws.reason().code << " "
              << ws.reason().reason << "\n";
  else
    std::cerr << "hopeflow-realtime listen: " << ec.message() << "\n";
  return 1;
}

// --- publish ---

template <class Stream>
int run_publish(Stream& s, const prepared& p, const std::string& body) {
  bhttp::request<bhttp::string_body> req{bhttp::verb::post, p.where.base_path + "/publish", 11};
  req.set(bhttp::field::host, p.where.host_header());
  req.set(bhttp::field::user_agent, "hopeflow-realtime publish");
  req.set(bhttp::field::authorization, "Bearer " + p.token);
  req.set(bhttp::field::content_type, "application/json");
  req.body() = body;
  req.prepare_payload();
  boost::system::error_code ec;
  bhttp::write(s, req, ec);
  beast::flat_buffer buf;
  bhttp::response_parser<bhttp::string_body> parser;
  parser.body_limit(max_answer_bytes);
  if (!ec) bhttp::read(s, buf, parser, ec);
  if (ec) {
    std::cerr << "hopeflow-realtime publish: " << ec.message() << "\n";
    return 1;
  }
  auto& res = parser.get();
  if (res.result() != bhttp::status::ok) {
    std::cerr << "hopeflow-realtime publish: HTTP " << res.result_int() << " " << res.body()
              << "\n";
    return 1;
  }
  if (auto d = res.find("hopeflow-degraded"); d != res.end())
    std::cerr << "hopeflow-realtime publish: degraded: " << d->value() << "\n";
  std::cout << res.body() << "\n";
  return 0;
}

void usage_listen(const std::string& program) {
  std::cerr << "usage: " << program
            << " listen --user ID --filter type=T[,key=value...] [--filter ...] [--ack JSON] "
               "[--recover] [--count N] [--url URL] [--token JWT] [options]\n"
               "  Prints every envelope (and recovered frame) as one JSON line and acks it\n"
               "  with --ack (default null). --url defaults to this configuration's server;\n"
               "  without --token, one is minted for --user with JWT_SECRET.\n";
}

void usage_publish(const std::string& program) {
  std::cerr << "usage: " << program
            << " publish --user ID [--type T] [--payload JSON] [--ack-timeout MS] [--url URL] "
               "[--token JWT] [options]\n"
               "  POSTs /publish and prints the answer ({\"clientCount\",\"results\"}).\n"
               "  Without --token, one is minted with PUBLISH_SECRET when set, else JWT_SECRET.\n";
}

}  // namespace

int listen_command(const std::string& program, const std::vector<std::string>& args,
                   const config_loader& load) {
  common_args c;
  listen_options o;
  bool help = false;
  auto err =
      split_args(args, c, [&](const std::string& name, const auto& value) -> std::optional<bool> {
        if (name == "--help" || name == "-h") return help = true;
        if (name == "--recover") return o.recover = true;
        if (name == "--filter") {
          auto v = value();
          if (!v) return true;
          auto f = parse_filter(*v);
          if (!f) return std::nullopt;
          o.filters.push_back(std::move(*f));
          return true;
        }
        if (name == "--ack") {
          auto v = value();
          if (!v) return true;
          auto parsed = json_arg(*v);
          if (!parsed) return std::nullopt;
          o.ack = json::serialize(*parsed);
          return true;
        }
        if (name == "--count") {
          auto v = value();
          if (!v) return true;
          auto n = integer_arg(*v, 1);
          if (!n) return std::nullopt;
          o.count = *n;
          return true;
        }
        return false;
      });
  if (help) {
    usage_listen(program);
    return 0;
  }
  if (err) {
    std::cerr << "hopeflow-realtime listen: " << *err
              << (err->starts_with("bad value for --filter") ? " (expected type=T[,key=value...])"
                                                             : "")
              << "\n";
    return 2;
  }
  if (c.user.empty() && c.token.empty()) {
    usage_listen(program);
    return 2;
  }
  if (o.filters.empty()) {
    std::cerr << "hopeflow-realtime listen: give at least one --filter type=T (a socket with no "
                 "filters receives nothing)\n";
    return 2;
  }
  auto p = prepare("listen", c, load, false);
  if (!p) return 2;
  return with_transport("listen", *p, [&](auto& transport) {
    websocket::stream<std::remove_reference_t<decltype(transport)>&> ws(transport);
    return run_listen(ws, *p, o);
  });
}

int publish_command(const std::string& program, const std::vector<std::string>& args,
                    const config_loader& load) {
  common_args c;
  json::object body;
  bool help = false;
  auto err =
      split_args(args, c, [&](const std::string& name, const auto& value) -> std::optional<bool> {
        if (name == "--help" || name == "-h") return help = true;
        if (name == "--type") {
          auto v = value();
          if (v) body["type"] = *v;
          return true;
        }
        if (name == "--payload") {
          auto v = value();
          if (!v) return true;
          auto parsed = json_arg(*v);
          if (!parsed) return std::nullopt;
          body["payload"] = std::move(*parsed);
          return true;
        }
        if (name == "--ack-timeout") {
          auto v = value();
          if (!v) return true;
          auto ms = integer_arg(*v, 0);
          if (!ms) return std::nullopt;
          body["ackTimeoutMs"] = *ms;
          return true;
        }
        return false;
      });
  if (help) {
    usage_publish(program);
    return 0;
  }
  if (err) {
    std::cerr << "hopeflow-realtime publish: " << *err
              << (*err == "bad value for --payload" ? " (not JSON)" : "") << "\n";
    return 2;
  }
  if (c.user.empty()) {
    usage_publish(program);
    return 2;
  }
  body["userId"] = c.user;
  auto p = prepare("publish", c, load, true);
  if (!p) return 2;
  std::string text = json::serialize(body);
  std::signal(SIGALRM, publish_timed_out);
  ::alarm(publish_timeout_s);
  return with_transport("publish", *p,
                        [&](auto& transport) { return run_publish(transport, *p, text); });
}

}  // namespace hf::app
