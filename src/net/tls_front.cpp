#include "net/tls_front.hpp"

#include <sys/socket.h>
#include <unistd.h>

#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <stdexcept>

#include "core/log.hpp"
#include "net/socket.hpp"

namespace hf::net {
namespace asio = boost::asio;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;

namespace {

// A client must finish the TLS handshake within this time.
constexpr auto handshake_timeout = std::chrono::seconds(10);
// One encrypted write to the client must complete within this time: a
// client that stops reading is cut off (its session sees the plaintext side
// close and releases everything).
constexpr auto write_timeout = std::chrono::seconds(15);
// After the session has closed, the TLS close_notify exchange gets this long.
constexpr auto shutdown_timeout = std::chrono::seconds(1);
// Bytes moved per read in each direction (two such buffers per connection).
constexpr std::size_t pump_chunk = 8192;

// One TLS connection. Every phase has a deadline (handshake, each write,
// the closing exchange), and the front ends as soon as either side does: the
// client's TCP connection and the socketpair to the session are closed
// together, so no descriptor outlives the connection. It counts in
// live_sessions (and so against MAX_CONNECTIONS) until its session exists,
// which counts from then on.
class tls_front : public std::enable_shared_from_this<tls_front> {
 public:
  tls_front(accept_context& c, tcp::socket s)
      : c_(c), tls_(std::move(s), *c.tls), plain_(c.ioc), timer_(c.ioc) {
    ++c_.live_sessions;
  }
  ~tls_front() {
    if (counted_) --c_.live_sessions;
  }

  void run() {
    arm(handshake_timeout);
    tls_.async_handshake(
        ssl::stream_base::server, [self = shared_from_this()](boost::system::error_code ec) {
          self->timer_.cancel();
          if (ec) {
            core::log_refusal(spdlog::level::info, "TLS handshake failed: {}", ec.message());
            return self->close_all();
          }
          self->on_handshake();
        });
  }

 private:
  // Closes everything when the deadline passes (a stale completion, after
  // the timer was cancelled or re-armed, is ignored).
  void arm(std::chrono::steady_clock::duration d) {
    timer_.expires_after(d);
    timer_.async_wait([weak = weak_from_this()](boost::system::error_code ec) {
      auto self = weak.lock();
      if (ec || !self || self->timer_.expiry() > std::chrono::steady_clock::now()) return;
      self->close_all();
    });
  }

  void close_all() {
    boost::system::error_code ec;
    tls_.lowest_layer().close(ec);
    plain_.close(ec);
    timer_.cancel();
  }

  void on_handshake() {
    int pair[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) != 0) return close_all();
    asio::generic::stream_protocol unix_stream(AF_UNIX, 0);
    plain_ = adopt(c_.ioc, {pair[0], unix_stream});
    // The session's end is a stream socket like any accepted one to the HTTP
    // layer (and keeps its family if it moves to another worker).
    detached_socket session{pair[1], unix_stream};
    if (!plain_.is_open()) {
      ::close(session.fd);
      return close_all();
    }
    c_.serve(session);
    counted_ = false;  // the session counts this connection now
    --c_.live_sessions;
    pump_in();
    pump_out();
  }

  // Client -> session: decrypt and pass on.
  void pump_in() {
    tls_.async_read_some(asio::buffer(in_),
                         [self = shared_from_this()](boost::system::error_code ec, std::size_t n) {
                           if (ec) {
                             // The client is gone (or closed TLS): the session sees EOF and
                             // closes, which ends pump_out.
                             self->client_gone_ = true;
                             boost::system::error_code e;
                             self->plain_.shutdown(stream_socket::shutdown_send, e);
                             return;
                           }
                           asio::async_write(self->plain_, asio::buffer(self->in_, n),
                                             [self](boost::system::error_code e, std::size_t) {
                                               if (!e) self->pump_in();
                                             });
                         });
  }

  // Session -> client: encrypt and send, each write within write_timeout.
  void pump_out() {
    plain_.async_read_some(asio::buffer(out_), [self = shared_from_this()](
                                                   boost::system::error_code ec, std::size_t n) {
      if (ec) return self->finish();  // the session closed its side
      self->arm(write_timeout);
      asio::async_write(self->tls_, asio::buffer(self->out_, n),
                        [self](boost::system::error_code e, std::size_t) {
                          self->timer_.cancel();
                          if (e) return self->close_all();
                          self->pump_out();
                        });
    });
  }

  // The session is done: send close_notify (unless the client is gone
  // already), bounded by shutdown_timeout, then close both sides.
  void finish() {
    if (client_gone_) return close_all();
    arm(shutdown_timeout);
    tls_.async_shutdown(
        [self = shared_from_this()](boost::system::error_code) { self->close_all(); });
  }

  accept_context& c_;
  ssl::stream<tcp::socket> tls_;
  stream_socket plain_;  // our end of the socketpair to the HTTP session
  asio::steady_timer timer_;
  bool counted_ = true;       // in live_sessions (until the session takes over)
  bool client_gone_ = false;  // the client's side ended
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

void start_tls_front(accept_context& c, tcp::socket socket) {
  std::make_shared<tls_front>(c, std::move(socket))->run();
}

}  // namespace hf::net
