#include "app/client_cli.hpp"

#include <boost/beast/core.hpp>
#include <boost/beast/http/verb.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <iostream>
#include <optional>

#include "app/client_http.hpp"

namespace hf::app {
namespace {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
namespace websocket = beast::websocket;
namespace json = boost::json;
using client::common_args;
using client::prepared;

// The server looks at 50 filters per subscribe message (docs/protocol.md section 4).
constexpr std::size_t filters_per_message = 50;
// The server answers a publish by the ack deadline (5 s, or ackTimeoutMs
// capped by its configuration), and a roster query within a second; these
// bound a request to a server that never answers.
constexpr unsigned publish_timeout_s = 65;
constexpr unsigned devices_timeout_s = 15;

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

// A JSON command-line value; nullopt when it is not JSON.
std::optional<json::value> json_arg(const std::string& text) {
  boost::system::error_code ec;
  auto v = json::parse(text, ec);
  if (ec) return std::nullopt;
  return v;
}

// `a,b,c` -> ["a","b","c"] for publish --users (docs/protocol.md section 15):
// 1 to 1000 ids, none of them blank (the server trims them and drops
// duplicates); nullopt otherwise.
std::optional<json::array> user_list(const std::string& text) {
  constexpr std::size_t max_users = 1000;  // the server's limit for one publish
  json::array users;
  std::size_t start = 0;
  for (;;) {
    std::size_t comma = text.find(',', start);
    std::string id =
        text.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    if (id.find_first_not_of(" \t") == std::string::npos || users.size() == max_users)
      return std::nullopt;
    users.emplace_back(id);
    if (comma == std::string::npos) return users;
    start = comma + 1;
  }
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
  std::string device;    // the `device` query parameter (docs/protocol.md section 11)
};

// A device name: 1 to 64 printable ASCII characters, `!` to `~`.
bool valid_device(const std::string& name) {
  if (name.empty() || name.size() > 64) return false;
  for (char ch : name)
    if (ch < '!' || ch > '~') return false;
  return true;
}

// An envelope has userId and timestamp; a cancel frame (section 12), which
// has an envelopeId too, has neither.
bool is_envelope(const json::object& frame) {
  auto id = frame.if_contains("envelopeId");
  return id && id->is_string() && frame.contains("timestamp") && frame.contains("userId");
}

// A `recovered` frame (docs/protocol.md section 7) that says "recovered":false.
bool unvouched_recovered(const json::object& frame) {
  auto type = frame.if_contains("type");
  auto recovered = frame.if_contains("recovered");
  return type && type->is_string() && type->as_string() == "recovered" && recovered &&
         recovered->is_bool() && !recovered->as_bool();
}

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
  if (!o.device.empty()) target += "?device=" + client::percent_encode(o.device);
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
  bool first_recovered = true;
  long long printed = 0;
  beast::flat_buffer buf;
  while (!ec && printed != o.count) {
    buf.clear();
    ws.read(buf, ec);
    if (ec) break;
    std::string text = beast::buffers_to_string(buf.data());
    if (text == "pong") {
      if (!ready)
        std::cerr << "listening (" << o.filters.size() << " filters"
                  << (o.device.empty() ? "" : ", device " + o.device) << ")\n";
      ready = true;
      continue;
    }
    std::cout << text << "\n" << std::flush;
    boost::system::error_code pe;
    auto v = json::parse(text, pe);
    if (pe || !v.is_object()) continue;
    // Recovered, refreshed and cancel frames are printed only.
    if (!is_envelope(v.as_object())) {
      // listen sends `recover` without a position (it has none), so its
      // recovered frame always says false (section 7): explain, once.
      if (o.recover && first_recovered && unvouched_recovered(v.as_object()))
        std::cerr << "recovered:false: no position was given, so there is nothing to vouch for; "
                     "later envelopes carry offsets\n";
      if (v.as_object().contains("recovered")) first_recovered = false;
      continue;
    }
    ++printed;
    std::string ack = R"({"type":"ack","envelopeId":)" + json::serialize(v.at("envelopeId")) +
                      R"(,"result":)" + o.ack + "}";
    ws.write(asio::buffer(ack), ec);
  }
  if (printed == o.count) {
    ws.close(websocket::close_code::normal, ec);
    return 0;
  }
  if (ec == websocket::error::closed)
    std::cerr << "hopeflow-realtime listen: closed by the server: " << ws.reason().code << " "
              << ws.reason().reason
              << (ws.reason().code == 4002 ? " (another socket of this device opened)" : "")
              << "\n";
  else
    std::cerr << "hopeflow-realtime listen: " << ec.message() << "\n";
  return 1;
}

void usage_listen(const std::string& program) {
  std::cerr << "usage: " << program
            << " listen --user ID --filter type=T[,key=value...] [--filter ...] [--ack JSON] "
               "[--recover] [--count N] [--device D] [--url URL] [--token JWT] [options]\n"
               "  Prints every envelope (and recovered or cancel frame) as one JSON line and\n"
               "  acks each envelope with --ack (default null). --recover adds offsets to the\n"
               "  envelopes (its recovered frame says false: no position is given). --device\n"
               "  names this socket's device (1 to 64 characters ! to ~); another socket of\n"
               "  the device replaces it (close 4002). --url defaults to this configuration's\n"
               "  server; without --token, one is minted for --user with JWT_SECRET.\n";
}

void usage_publish(const std::string& program) {
  std::cerr
      << "usage: " << program
      << " publish --user ID|--users ID,ID,... [--type T] [--payload JSON] [--ack-timeout MS] "
         "[--receipts] [--until first|all|N] [--cancel] [--webhook] [--idempotency-key K] "
         "[--url URL] [--token JWT] [options]\n"
         "  POSTs /publish and prints the answer ({\"clientCount\",\"results\"}, and\n"
         "  \"devices\" with --receipts). --until answers after the first or N acks;\n"
         "  --cancel then withdraws the envelope from the devices that did not ack it.\n"
         "  --webhook asks the server to POST unacked / late_ack events about the\n"
         "  envelope to its WEBHOOK_URL (refused with 400 when it has none).\n"
         "  --users publishes to 1 to 1000 users at once, an envelope for each; the\n"
         "  answer adds \"users\", each user's own answer and envelopeId.\n"
         "  --idempotency-key K: run it again with the same K and it is not delivered\n"
         "  twice (the first answer comes back; stderr says \"replayed\").\n"
         "  Without --token, one is minted with PUBLISH_SECRET when set, else JWT_SECRET.\n";
}

void usage_devices(const std::string& program) {
  std::cerr << "usage: " << program
            << " devices --user ID [--url URL] [--token JWT] [options]\n"
               "  GETs /users/ID/devices and prints the answer ({\"userId\",\"devices\"}): the\n"
               "  user's open sockets and their devices. Without --token, one is minted as for\n"
               "  publish.\n";
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
        if (name == "--device") {
          auto v = value();
          if (!v) return true;
          if (!valid_device(*v)) return std::nullopt;
          o.device = *v;
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
                  : err->starts_with("bad value for --device")
                      ? " (expected 1 to 64 printable ASCII characters, ! to ~, no spaces)"
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
  auto p = client::prepare("listen", c, load, false);
  if (!p) return 2;
  return client::with_transport("listen", *p, [&](auto& transport) {
    websocket::stream<std::remove_reference_t<decltype(transport)>&> ws(transport);
    return run_listen(ws, *p, o);
  });
}

int publish_command(const std::string& program, const std::vector<std::string>& args,
                    const config_loader& load) {
  common_args c;
  json::object body;
  std::optional<json::array> users;  // --users: section 15's userIds
  std::string idempotency_key;       // section 15: sent as the Idempotency-Key header
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
        if (name == "--users") {
          auto v = value();
          if (!v) return true;
          users = user_list(*v);
          if (!users) return std::nullopt;
          return true;
        }
        if (name == "--idempotency-key") {
          auto v = value();
          if (v) idempotency_key = *v;
          return true;
        }
        if (name == "--receipts" || name == "--cancel" || name == "--webhook") {
          body[name.substr(2)] = true;
          return true;
        }
        if (name == "--until") {
          auto v = value();
          if (!v) return true;
          if (*v == "first" || *v == "all") {
            body["until"] = *v;
            return true;
          }
          auto n = integer_arg(*v, 1);
          if (!n) return std::nullopt;
          body["until"] = *n;
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
              << (*err == "bad value for --payload" ? " (not JSON)"
                  : *err == "bad value for --until" ? " (expected first, all or an integer >= 1)"
                  : *err == "bad value for --users"
                      ? " (expected 1 to 1000 comma-separated user ids, none blank)"
                      : "")
              << "\n";
    return 2;
  }
  if (!c.user.empty() && users) {
    std::cerr << "hopeflow-realtime publish: give --user or --users, not both\n";
    return 2;
  }
  if (c.user.empty() && !users) {
    usage_publish(program);
    return 2;
  }
  if (users)
    body["userIds"] = std::move(*users);
  else
    body["userId"] = c.user;
  auto p = client::prepare("publish", c, load, true);
  if (!p) return 2;
  return client::http_request("publish", *p, bhttp::verb::post, "/publish", json::serialize(body),
                              publish_timeout_s, idempotency_key);
}

int devices_command(const std::string& program, const std::vector<std::string>& args,
                    const config_loader& load) {
  common_args c;
  bool help = false;
  auto err = split_args(args, c, [&](const std::string& name, const auto&) -> std::optional<bool> {
    if (name == "--help" || name == "-h") return help = true;
    return false;
  });
  if (help) {
    usage_devices(program);
    return 0;
  }
  if (err) {
    std::cerr << "hopeflow-realtime devices: " << *err << "\n";
    return 2;
  }
  if (c.user.empty()) {
    usage_devices(program);
    return 2;
  }
  auto p = client::prepare("devices", c, load, true);
  if (!p) return 2;
  return client::http_request("devices", *p, bhttp::verb::get,
                              "/users/" + client::percent_encode(c.user) + "/devices", std::nullopt,
                              devices_timeout_s);
}

}  // namespace hf::app
