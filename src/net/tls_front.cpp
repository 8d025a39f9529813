#include "net/tls_front.hpp"

#include <sys/socket.h>

#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <stdexcept>

#include "core/log.hpp"
#include "http/session.hpp"
#include "net/socket.hpp"
#include "net/worker.hpp"

namespace hf::net {
namespace asio = boost::asio;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;

namespace {

// A client must finish the TLS handshake within this time.
constexpr auto handshake_timeout = std::chrono::seconds(10);
// Bytes moved per read in each direction (two such buffers per connection).
constexpr std::size_t pump_chunk = 8192;

class tls_front : public std::enable_shared_from_this<tls_front> {
 public:
  tls_front(worker& w, tcp::socket s)
      : w_(w), tls_(std::move(s), *w.svc.tls), plain_(w.ioc), timer_(w.ioc) {}

  void run() {
    timer_.expires_after(handshake_timeout);
    timer_.async_wait([weak = weak_from_this()](boost::system::error_code ec) {
      if (auto self = weak.lock(); self && !ec) self->tls_.lowest_layer().close(ec);
    });
    tls_.async_handshake(
        ssl::stream_base::server, [self = shared_from_this()](boost::system::error_code ec) {
          self->timer_.cancel();
          if (ec) {
            core::log_refusal(spdlog::level::info, "TLS handshake failed: {}", ec.message());
            return;
          }
          self->on_handshake();
        });
  }

 private:
  void on_handshake() {
    int pair[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) != 0) return;
    asio::generic::stream_protocol unix_stream(AF_UNIX, 0);
    plain_ = adopt(w_.ioc, {pair[0], unix_stream});
    // The session's end is a stream socket like any accepted one to the HTTP
    // layer (and keeps its family if it moves to another worker).
    stream_socket session = adopt(w_.ioc, {pair[1], unix_stream});
    if (!plain_.is_open() || !session.is_open()) return;
    http::start_session(w_, std::move(session));
    pump_in();
    pump_out();
  }

  // Client -> server: decrypt and pass on.
  void pump_in() {
    tls_.async_read_some(asio::buffer(in_), [self = shared_from_this()](
                                                boost::system::error_code ec, std::size_t n) {
      if (ec) {
        boost::system::error_code e;
        self->plain_.shutdown(stream_socket::shutdown_send, e);  // the session sees EOF
        return;
      }
      asio::async_write(self->plain_, asio::buffer(self->in_, n),
                        [self](boost::system::error_code e, std::size_t) {
                          if (!e) self->pump_in();
                        });
    });
  }

  // Server -> client: encrypt and send.
  void pump_out() {
    plain_.async_read_some(asio::buffer(out_), [self = shared_from_this()](
                                                   boost::system::error_code ec, std::size_t n) {
      if (ec) {  // the session closed: close TLS politely, then the socket
        self->tls_.async_shutdown([self](boost::system::error_code) {
          boost::system::error_code e;
          self->tls_.lowest_layer().close(e);
          self->plain_.close(e);
        });
        return;
      }
      asio::async_write(self->tls_, asio::buffer(self->out_, n),
                        [self](boost::system::error_code e, std::size_t) {
                          if (!e) return self->pump_out();
                          boost::system::error_code ignored;
                          self->plain_.close(ignored);
                        });
    });
  }

  worker& w_;
  ssl::stream<tcp::socket> tls_;
  stream_socket plain_;  // our end of the socketpair to the HTTP session
  asio::steady_timer timer_;
  char in_[pump_chunk];
  char out_[pump_chunk];
};

}  // namespace

std::shared_ptr<ssl::context> make_tls_context(const std::string& cert_file,
                                               const std::string& key_file) {
  auto ctx = std::make_shared<ssl::context>(ssl::context::tls_server);
  ctx->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                   ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1 |
                   ssl::context::single_dh_use);
  boost::system::error_code ec;
  ctx->use_certificate_chain_file(cert_file, ec);
  if (ec) throw std::runtime_error("TLS_CERT_FILE '" + cert_file + "': " + ec.message());
  ctx->use_private_key_file(key_file, ssl::context::pem, ec);
  if (ec) throw std::runtime_error("TLS_KEY_FILE '" + key_file + "': " + ec.message());
  return ctx;
}

void start_tls_front(worker& w, tcp::socket socket) {
  std::make_shared<tls_front>(w, std::move(socket))->run();
}

}  // namespace hf::net
