#include "net/ws_session.hpp"

#include <spdlog/spdlog.h>

#include <boost/asio/post.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>
#include <deque>
#include <sstream>

#include "hub/connection.hpp"
#include "net/worker.hpp"

namespace hf::net {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
using tcp = asio::ip::tcp;

namespace {

// A client must finish the opening handshake, and answer our close frame,
// within this time.
constexpr auto handshake_timeout = std::chrono::seconds(30);

class ws_session final : public hub::connection, public std::enable_shared_from_this<ws_session> {
 public:
  ws_session(worker& w, tcp::socket s, std::string user)
      : w_(w), ws_(std::move(s)), user_(std::move(user)) {
    ++w_.svc.live_sessions;
  }
  ~ws_session() override { --w_.svc.live_sessions; }

  void run(ws_upgrade up) {
    websocket::stream_base::timeout t{};
    t.handshake_timeout = handshake_timeout;
    t.idle_timeout = websocket::stream_base::none();
    t.keep_alive_pings = false;
    ws_.set_option(t);
    ws_.read_message_max(w_.svc.cfg.max_message_bytes);
    ws_.auto_fragment(false);
    auto on_accept = [self = shared_from_this()](beast::error_code ec) { self->on_accept(ec); };
    if (up.early_bytes.empty()) return ws_.async_accept(up.req, std::move(on_accept));
    // Hand Beast the request again followed by the early frames, so nothing
    // the client sent is lost.
    std::ostringstream raw;
    raw << up.req;
    handshake_bytes_ = raw.str() + up.early_bytes;
    ws_.async_accept(asio::buffer(handshake_bytes_), std::move(on_accept));
  }

  // hub::connection
  void send_text(hub::shared_text text) override {
    if (closing_) return;
    if (queued_bytes_ + text->size() > w_.svc.cfg.max_queued_bytes) {
      spdlog::warn("closing socket of user {}: slow consumer ({} bytes queued)", user_,
                   queued_bytes_);
      return close(1008, "slow consumer");
    }
    queued_bytes_ += text->size();
    queue_.push_back(std::move(text));
    if (!writing_) do_write();
  }

  void close(std::uint16_t code, std::string_view reason) override {
    if (closing_) return;
    closing_ = true;
    close_reason_ = websocket::close_reason(static_cast<websocket::close_code>(code), reason);
    // Everything not yet on the wire is dropped; the in-flight frame (front)
    // finishes first, then the close frame goes out.
    while (queue_.size() > (writing_ ? 1u : 0u)) {
      queued_bytes_ -= queue_.back()->size();
      queue_.pop_back();
    }
    // Stop being a target now; detach is posted because the hub may be
    // iterating this user's sockets right now.
    asio::post(w_.ioc, [self = shared_from_this()] { self->w_.shard.detach(*self); });
    if (!writing_) do_close();
  }

 private:
  void on_accept(beast::error_code ec) {
    if (ec) {
      spdlog::debug("websocket handshake failed: {}", ec.message());
      return;
    }
    if (w_.svc.stopping) return close(1001, "server shutting down");
    w_.shard.attach(*this, user_);
    do_read();
  }

  void do_read() {
    ws_.async_read(buffer_, [self = shared_from_this()](beast::error_code ec, std::size_t) {
      self->on_read(ec);
    });
  }

  void on_read(beast::error_code ec) {
    if (ec) {
      // Closed by the peer (Beast has already answered its close frame),
      // failed, or timed out: release everything the socket held.
      if (ec == websocket::error::message_too_big)
        spdlog::info("closing socket of user {}: message too big", user_);
      w_.shard.detach(*this);
      return;
    }
    if (ws_.got_text()) {
      auto data = buffer_.cdata();
      w_.shard.on_text(*this, std::string_view(static_cast<const char*>(data.data()), data.size()));
    }
    buffer_.consume(buffer_.size());
    do_read();
  }

  void do_write() {
    writing_ = true;
    ws_.text(true);
    ws_.async_write(
        asio::buffer(*queue_.front()),
        [self = shared_from_this()](beast::error_code ec, std::size_t) { self->on_write(ec); });
  }

  void on_write(beast::error_code ec) {
    writing_ = false;
    queued_bytes_ -= queue_.front()->size();
    queue_.pop_front();
    if (ec) {
      // The connection is broken: no close frame can be sent. Dropping the
      // socket makes the pending read fail, which detaches it.
      closing_ = true;
      queue_.clear();
      queued_bytes_ = 0;
      boost::system::error_code ignored;
      beast::get_lowest_layer(ws_).close(ignored);
      w_.shard.detach(*this);
      return;
    }
    if (closing_) return do_close();
    if (!queue_.empty()) do_write();
  }

  void do_close() {
    if (close_sent_) return;
    close_sent_ = true;
    ws_.async_close(close_reason_, [self = shared_from_this()](beast::error_code) {});
  }

  worker& w_;
  websocket::stream<tcp::socket> ws_;
  beast::flat_buffer buffer_;
  std::string user_;
  std::string handshake_bytes_;         // only for an upgrade with early frames
  std::deque<hub::shared_text> queue_;  // bounded by cfg.max_queued_bytes
  std::size_t queued_bytes_ = 0;
  websocket::close_reason close_reason_;
  bool writing_ = false;
  bool closing_ = false;
  bool close_sent_ = false;
};

}  // namespace

void start_websocket(worker& w, tcp::socket socket, ws_upgrade up) {
  boost::system::error_code ec;
  socket.set_option(tcp::no_delay(true), ec);
  std::string user = up.user_id;
  std::make_shared<ws_session>(w, std::move(socket), std::move(user))->run(std::move(up));
}

}  // namespace hf::net
