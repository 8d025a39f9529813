#include "app/client_http.hpp"

#include <unistd.h>

#include <boost/beast/http.hpp>
#include <boost/json/object.hpp>
#include <boost/url/parse.hpp>
#include <chrono>
#include <csignal>
#include <cstring>

#include "auth/jwt.hpp"

namespace hf::app::client {
namespace {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
namespace json = boost::json;

// A publish answer holds at most the server's MAX_RESULTS_BYTES of results
// (twice that, and 1000 users' entries, for publish --users); this bounds
// what the tool buffers if it is pointed at something else.
constexpr std::uint64_t max_answer_bytes = 64ull << 20;

// What the SIGALRM handler writes (set before the alarm: the tool's I/O is
// synchronous, so an alarm is what bounds a server that never answers).
char timeout_line[160];
std::size_t timeout_line_size = 0;

extern "C" void request_timed_out(int) {
  (void)!::write(2, timeout_line, timeout_line_size);
  ::_exit(1);
}

void arm_timeout(const char* cmd, unsigned seconds) {
  std::string line = std::string("hopeflow-realtime ") + cmd + ": no answer within " +
                     std::to_string(seconds) + " s\n";
  timeout_line_size = std::min(line.size(), sizeof timeout_line);
  std::memcpy(timeout_line, line.data(), timeout_line_size);
  std::signal(SIGALRM, request_timed_out);
  ::alarm(seconds);
}

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

template <class Stream>
int exchange(Stream& s, const char* cmd, const prepared& p, bhttp::verb method,
             const std::string& path, const std::optional<std::string>& body,
             const std::string& idempotency_key) {
  bhttp::request<bhttp::string_body> req{method, p.where.base_path + path, 11};
  req.set(bhttp::field::host, p.where.host_header());
  req.set(bhttp::field::user_agent, std::string("hopeflow-realtime ") + cmd);
  req.set(bhttp::field::authorization, "Bearer " + p.token);
  if (!idempotency_key.empty()) req.set("Idempotency-Key", idempotency_key);
  if (body) {
    req.set(bhttp::field::content_type, "application/json");
    req.body() = *body;
  }
  req.prepare_payload();
  boost::system::error_code ec;
  bhttp::write(s, req, ec);
  beast::flat_buffer buf;
  bhttp::response_parser<bhttp::string_body> parser;
  parser.body_limit(max_answer_bytes);
  if (!ec) bhttp::read(s, buf, parser, ec);
  if (ec) {
    std::cerr << "hopeflow-realtime " << cmd << ": " << ec.message() << "\n";
    return 1;
  }
  auto& res = parser.get();
  if (res.result() != bhttp::status::ok) {
    std::cerr << "hopeflow-realtime " << cmd << ": HTTP " << res.result_int() << " " << res.body()
              << "\n";
    return 1;
  }
  if (auto d = res.find("hopeflow-degraded"); d != res.end())
    std::cerr << "hopeflow-realtime " << cmd << ": degraded: " << d->value() << "\n";
  if (res.find("idempotent-replayed") != res.end())
    std::cerr << "hopeflow-realtime " << cmd
              << ": replayed: the first answer of this Idempotency-Key (nothing delivered again)\n";
  std::cout << res.body() << "\n";
  return 0;
}

}  // namespace

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

std::string percent_encode(const std::string& text) {
  static const char hex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char ch : text) {
    bool alnum = (ch >= '0' && ch <= '9') || (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z');
    if (alnum || ch == '-' || ch == '.' || ch == '_' || ch == '~') {
      out += static_cast<char>(ch);
    } else {
      out += '%';
      out += hex[ch >> 4];
      out += hex[ch & 15];
    }
  }
  return out;
}

asio::ssl::context client_tls() {
  asio::ssl::context tls(asio::ssl::context::tls_client);
  tls.set_default_verify_paths();
  tls.set_verify_mode(asio::ssl::verify_peer);
  return tls;
}

int http_request(const char* cmd, const prepared& p, bhttp::verb method, const std::string& path,
                 const std::optional<std::string>& body, unsigned timeout_s,
                 const std::string& idempotency_key) {
  arm_timeout(cmd, timeout_s);
  return with_transport(cmd, p, [&](auto& transport) {
    return exchange(transport, cmd, p, method, path, body, idempotency_key);
  });
}

}  // namespace hf::app::client
