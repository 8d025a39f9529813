#include "net/listener.hpp"

#include <spdlog/spdlog.h>
#include <sys/socket.h>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <stdexcept>

#include "core/log.hpp"
#include "metrics/metrics.hpp"
#include "net/tls_front.hpp"

namespace hf::net {
namespace asio = boost::asio;
using tcp = asio::ip::tcp;
// Accepted sockets are bound to the worker's io_context by type (net::stream_socket).
using accepted = asio::basic_stream_socket<tcp, asio::io_context::executor_type>;

namespace {

using reuse_port = asio::detail::socket_option::boolean<SOL_SOCKET, SO_REUSEPORT>;

class tcp_listener final : public listener, public std::enable_shared_from_this<tcp_listener> {
 public:
  tcp_listener(accept_context& c, const tcp::endpoint& ep, bool first)
      : c_(c), acceptor_(c.ioc), retry_(c.ioc) {
    boost::system::error_code ec;
    if (first && ep.port() != 0) {
      // A bind without SO_REUSEPORT fails while any other socket listens here.
      tcp::acceptor probe(c.ioc);
      probe.open(ep.protocol(), ec);
      if (!ec) probe.set_option(asio::socket_base::reuse_address(true), ec);
      if (!ec) probe.bind(ep, ec);
      if (ec == asio::error::address_in_use)
        throw std::runtime_error("cannot listen on " + ep.address().to_string() + ":" +
                                 std::to_string(ep.port()) +
                                 ": the port is in use (another server running?)");
      ec.clear();
    }
    acceptor_.open(ep.protocol(), ec);
    if (!ec) acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec) acceptor_.set_option(reuse_port(true), ec);
    if (!ec) acceptor_.bind(ep, ec);
    if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
    if (ec)
      throw std::runtime_error("cannot listen on " + ep.address().to_string() + ":" +
                               std::to_string(ep.port()) + ": " + ec.message());
  }

  void start() override { do_accept(); }

  void stop() override {
    boost::system::error_code ec;
    acceptor_.close(ec);
    retry_.cancel();
  }

  std::uint16_t port() const override {
    boost::system::error_code ec;
    return acceptor_.local_endpoint(ec).port();
  }

 private:
  void do_accept() {
    acceptor_.async_accept(c_.ioc,
                           [self = shared_from_this()](boost::system::error_code ec, accepted s) {
                             self->on_accept(ec, std::move(s));
                           });
  }

  void on_accept(boost::system::error_code ec, accepted s) {
    if (ec == asio::error::operation_aborted || !acceptor_.is_open()) return;
    if (ec) {
      // EMFILE/ENFILE/ENOBUFS: the connection stays in the backlog; back off
      // briefly instead of spinning, then try again.
      spdlog::warn("accept failed: {} (retrying in 100 ms)", ec.message());
      retry_.expires_after(std::chrono::milliseconds(100));
      retry_.async_wait([self = shared_from_this()](boost::system::error_code e) {
        if (!e) self->do_accept();
      });
      return;
    }
    std::size_t cap = c_.max_connections;
    if (cap && static_cast<std::size_t>(c_.live_sessions.load()) >= cap) {
      // Over the configured cap: a short 503 written straight away (a new
      // socket has room for it), then close.
      static const std::string full =
          "HTTP/1.1 503 Service Unavailable\r\ncontent-type: text/plain;charset=UTF-8\r\n"
          "connection: close\r\ncontent-length: 19\r\n\r\nService Unavailable";
      s.non_blocking(true, ec);
      s.send(asio::buffer(full), 0, ec);
      s.close(ec);
      c_.metrics.refused(metrics::limit_kind::connections_503);
      core::log_refusal(spdlog::level::warn, "connection refused: 503 (MAX_CONNECTIONS={} reached)",
                        cap);
      return do_accept();
    }
    s.set_option(tcp::no_delay(true), ec);
    // The next accept is pending before the session starts: a session may
    // read, answer and hand over its request inside serve(), and whatever
    // happens there, this listener keeps accepting.
    do_accept();
    if (c_.tls)
      start_tls_front(c_, tcp::socket(std::move(s)));
    else
      c_.serve(stream_socket(std::move(s)));
  }

  accept_context& c_;
  asio::basic_socket_acceptor<tcp, asio::io_context::executor_type> acceptor_;
  asio::steady_timer retry_;
};

}  // namespace

std::shared_ptr<listener> listener::open(accept_context& c, const std::string& host,
                                         std::uint16_t port, bool first) {
  boost::system::error_code ec;
  auto addr = asio::ip::make_address(host, ec);
  tcp::endpoint ep;
  if (!ec) {
    ep = tcp::endpoint(addr, port);
  } else {
    tcp::resolver resolver(c.ioc);
    auto results = resolver.resolve(host, std::to_string(port), ec);
    if (ec || results.empty())
      throw std::runtime_error("cannot resolve HOST '" + host + "': " + ec.message());
    ep = results.begin()->endpoint();
  }
  return std::make_shared<tcp_listener>(c, ep, first);
}

}  // namespace hf::net
