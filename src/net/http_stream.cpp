#include "net/http_stream.hpp"

#include <boost/asio/ssl.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>

namespace hf::net {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
using tcp = asio::ip::tcp;

void use_system_roots(asio::ssl::context& tls) {
  tls.set_default_verify_paths();
  tls.set_verify_mode(asio::ssl::verify_peer);
}

beast::tcp_stream& http_stream::lowest() {
  return secure_ ? beast::get_lowest_layer(*secure_) : *plain_;
}

void http_stream::connect(const tcp::resolver::results_type& endpoints, done_fn done,
                          std::optional<std::chrono::steady_clock::duration> timeout) {
  close();
  if (where_.https) {
    secure_.emplace(ioc_, tls_);
    // SNI (a host name only: RFC 6066 section 3 has no IP literals), and
    // the certificate must name the host (or the address).
    if (!where_.ip_literal) SSL_set_tlsext_host_name(secure_->native_handle(), where_.host.c_str());
    secure_->set_verify_callback(asio::ssl::host_name_verification(where_.host));
  } else {
    plain_.emplace(ioc_);
  }
  if (timeout) lowest().expires_after(*timeout);
  lowest().async_connect(endpoints, [this, done = std::move(done)](boost::system::error_code ec,
                                                                   const tcp::endpoint&) mutable {
    if (ec || !secure_) return done(ec);
    secure_->async_handshake(asio::ssl::stream_base::client, std::move(done));
  });
}

void http_stream::write(request& req, done_fn done) {
  auto written = [done = std::move(done)](boost::system::error_code ec, std::size_t) { done(ec); };
  if (secure_)
    bhttp::async_write(*secure_, req, std::move(written));
  else
    bhttp::async_write(*plain_, req, std::move(written));
}

void http_stream::read(beast::flat_buffer& buffer, response_parser& parser, done_fn done) {
  auto got = [done = std::move(done)](boost::system::error_code ec, std::size_t) { done(ec); };
  if (secure_)
    bhttp::async_read(*secure_, buffer, parser, std::move(got));
  else
    bhttp::async_read(*plain_, buffer, parser, std::move(got));
}

void http_stream::close() {
  boost::system::error_code ec;
  if (is_open()) lowest().socket().close(ec);
  plain_.reset();
  secure_.reset();
}

}  // namespace hf::net
