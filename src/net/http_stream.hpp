// One outgoing HTTP connection to an http_target, plain or TLS: what the
// server's HTTP clients (net/jwks_fetcher for JWKS_URL, net/webhook_sender
// for WEBHOOK_URL) share. With https the certificate is checked against the
// system's roots (tls_client_context) and must name the URL's host; a host
// name (not an address) is sent as SNI. One owner thread (the client's).
#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <chrono>
#include <functional>
#include <optional>

#include "net/http_target.hpp"

namespace hf::net {

// A client TLS context: the system's roots, the peer verified.
void use_system_roots(boost::asio::ssl::context& tls);

class http_stream {
 public:
  using request = boost::beast::http::request<boost::beast::http::string_body>;
  using response_parser = boost::beast::http::response_parser<boost::beast::http::string_body>;
  using done_fn = std::function<void(boost::system::error_code)>;

  http_stream(boost::asio::io_context& ioc, boost::asio::ssl::context& tls,
              const http_target& where)
      : ioc_(ioc), tls_(tls), where_(where) {}

  // Connects to one of `endpoints`, then (https) completes the handshake;
  // with a `timeout`, that and every later operation must be done within it
  // (until lowest().expires_after / expires_never says otherwise).
  void connect(const boost::asio::ip::tcp::resolver::results_type& endpoints, done_fn done,
               std::optional<std::chrono::steady_clock::duration> timeout = std::nullopt);
  void write(request& req, done_fn done);
  void read(boost::beast::flat_buffer& buffer, response_parser& parser, done_fn done);
  // Closes the connection (a later connect() opens a new one).
  void close();
  bool is_open() const noexcept { return plain_ || secure_; }
  // The TCP layer: its timeouts (expires_after) bound every operation.
  boost::beast::tcp_stream& lowest();

 private:
  boost::asio::io_context& ioc_;
  boost::asio::ssl::context& tls_;
  const http_target& where_;
  std::optional<boost::beast::tcp_stream> plain_;
  std::optional<boost::beast::ssl_stream<boost::beast::tcp_stream>> secure_;
};

}  // namespace hf::net
