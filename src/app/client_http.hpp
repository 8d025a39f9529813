// What the client subcommands (client_cli.cpp) share: the server's address,
// the token (given, or minted from the configuration), a TCP or TLS
// connection, and one HTTP request whose answer is printed.
#pragma once

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http/verb.hpp>
#include <boost/beast/ssl.hpp>
#include <iostream>
#include <optional>
#include <string>
#include <type_traits>
#include <vector>

#include "app/client_cli.hpp"

namespace hf::app::client {

struct endpoint {
  bool secure = false;
  std::string host, port, base_path;  // base_path without a trailing '/'
  std::string host_header() const {
    bool default_port = port == (secure ? "443" : "80");
    return default_port ? host : host + ":" + port;
  }
};

// The flags every subcommand shares; the rest go to the configuration loader.
struct common_args {
  std::string url, token, user;
  std::vector<std::string> rest;
};

struct prepared {
  endpoint where;
  std::string token;
};

// URL and token: given, or from the configuration (the secret read as
// `token` reads it). `publisher`: a token that may publish. Prints why not
// ("hopeflow-realtime <cmd>: ...") and returns nullopt on failure.
std::optional<prepared> prepare(const char* cmd, common_args& c, const config_loader& load,
                                bool publisher);

// `text` with every byte but RFC 3986's unreserved ones percent-encoded: one
// path segment or query value.
std::string percent_encode(const std::string& text);

boost::asio::ssl::context client_tls();

// TCP (and TLS with SNI and host-name verification) to `e`.
template <class Stream>
bool open_transport(Stream& s, boost::asio::ip::tcp::resolver& resolver, const endpoint& e,
                    boost::system::error_code& ec) {
  auto results = resolver.resolve(e.host, e.port, ec);
  if (ec) return false;
  boost::beast::get_lowest_layer(s).connect(results, ec);
  if (ec) return false;
  if constexpr (!std::is_same_v<Stream, boost::beast::tcp_stream>) {
    SSL_set_tlsext_host_name(s.native_handle(), e.host.c_str());
    s.set_verify_callback(boost::asio::ssl::host_name_verification(e.host));
    s.handshake(boost::asio::ssl::stream_base::client, ec);
  }
  return !ec;
}

// Connects to p.where (TLS for https and wss) and runs `use` on the stream:
// a beast::tcp_stream or a beast::ssl_stream over one.
template <class Use>
int with_transport(const char* cmd, const prepared& p, Use&& use) {
  namespace beast = boost::beast;
  boost::asio::io_context ioc;
  boost::asio::ip::tcp::resolver resolver(ioc);
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

// One request to p.where.base_path + `path` with the bearer token (and a
// JSON body when `body` is given). A 200 answer's body is printed on stdout
// (0); a `hopeflow-degraded` header is reported on stderr; any other status
// prints "HTTP <status> <body>" on stderr (1), as does a connection failure.
// Exits the process (1) when nothing has come back after `timeout_s`. With
// `idempotency_key`, the request carries it (docs/protocol.md section 15),
// and a replayed answer is reported on stderr.
int http_request(const char* cmd, const prepared& p, boost::beast::http::verb method,
                 const std::string& path, const std::optional<std::string>& body,
                 unsigned timeout_s, const std::string& idempotency_key = {});

}  // namespace hf::app::client
