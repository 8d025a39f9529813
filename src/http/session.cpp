#include "http/session.hpp"

#include <spdlog/spdlog.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <optional>

#include "core/log.hpp"
#include "core/text.hpp"
#include "http/handlers.hpp"

namespace hf::http {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;

namespace {

using parser_type = bhttp::request_parser<bhttp::string_body>;

std::optional<std::string_view> header(const bhttp::request<bhttp::string_body>& r,
                                       bhttp::field f) {
  auto it = r.find(f);
  if (it == r.end()) return std::nullopt;
  return it->value();
}

// The handlers' view of what the parser holds (see http/request.hpp). The
// handshake headers are looked up for upgrades only, the body for the other
// routes only.
request view_of(const bhttp::request<bhttp::string_body>& r, protocol::route route) {
  request v;
  v.method = r.method_string();
  v.target = r.target();
  v.version = r.version();
  v.authorization = header(r, bhttp::field::authorization);
  v.content_type = header(r, bhttp::field::content_type);
  if (route == protocol::route::websocket) {
    v.upgrade = header(r, bhttp::field::upgrade);
    v.connection = header(r, bhttp::field::connection);
    v.sec_websocket_key = header(r, bhttp::field::sec_websocket_key);
    v.sec_websocket_version = header(r, bhttp::field::sec_websocket_version);
    v.sec_websocket_extensions = header(r, bhttp::field::sec_websocket_extensions);
  } else {
    v.body = r.body();
    if (route == protocol::route::publish)
      if (auto it = r.find("Idempotency-Key"); it != r.end()) v.idempotency_key = it->value();
  }
  v.keep_alive = r.keep_alive();
  return v;
}

}  // namespace

class session final : public std::enable_shared_from_this<session> {
 public:
  session(context& c, net::stream_socket s) : c_(c), socket_(std::move(s)), deadline_(c.ioc) {
    c_.sessions.insert(this);
    ++c_.live_sessions;
  }
  ~session() {
    c_.sessions.erase(this);
    --c_.live_sessions;
  }

  void run() { do_read(); }

  // Server shutdown: close now when idle, else after the answer in flight.
  void stop() {
    close_after_answer_ = true;
    if (handling_) return;
    boost::system::error_code ec;
    socket_.shutdown(net::stream_socket::shutdown_both, ec);
    socket_.cancel(ec);
  }

 private:
  // The exchange of one request (see http/exchange.hpp): `seq` ties every
  // answer to the request it was made for.
  class request_exchange final : public exchange {
   public:
    request_exchange(std::shared_ptr<session> s, std::uint64_t seq) : s_(std::move(s)), seq_(seq) {}
    ~request_exchange() override {
      // The session's last reference may be this one: let it go on the
      // session's own thread (its destructor touches the context's state).
      if (!s_) return;
      asio::io_context& ioc = s_->c_.ioc;  // before s_ is moved into the handler
      if (!ioc.get_executor().running_in_this_thread()) asio::post(ioc, [s = std::move(s_)] {});
    }
    void respond(response r) override {
      if (s_->c_.ioc.get_executor().running_in_this_thread()) return s_->answer(seq_, std::move(r));
      asio::post(s_->c_.ioc, [s = s_, seq = seq_, r = std::move(r)]() mutable {
        s->answer(seq, std::move(r));
      });
    }
    net::stream_socket take_connection(std::string& early_bytes) override {
      return s_->take_connection(seq_, early_bytes);
    }
    void backstop(std::chrono::steady_clock::time_point by, response fallback,
                  std::function<void()> fired) override {
      s_->arm_backstop(seq_, by, std::move(fallback), std::move(fired));
    }

   private:
    std::shared_ptr<session> s_;
    std::uint64_t seq_;
  };

  void do_read() {
    parser_.emplace();
    parser_->header_limit(static_cast<std::uint32_t>(c_.cfg.max_header_bytes));
    parser_->body_limit(c_.cfg.max_body_bytes);
    // One deadline for the whole request, from the moment we start waiting:
    // a slow sender (slowloris) gets 408 no later than this.
    arm_deadline();
    bhttp::async_read_header(
        socket_, buffer_, *parser_,
        [self = shared_from_this()](beast::error_code ec, std::size_t) { self->on_header(ec); });
  }

  // Cancels the pending read or write when the deadline passes.
  void arm_deadline() {
    timed_out_ = false;
    deadline_.expires_after(c_.cfg.request_timeout);
    deadline_.async_wait([weak = weak_from_this()](boost::system::error_code ec) {
      auto self = weak.lock();
      if (ec || !self) return;
      // A completion queued before the timer was cancelled or re-armed is
      // stale: only a deadline that really passed cuts the connection.
      if (self->deadline_.expiry() > std::chrono::steady_clock::now()) return;
      self->timed_out_ = true;
      self->socket_.cancel(ec);
    });
  }

  void on_header(beast::error_code ec) {
    if (ec) return on_read_error(ec);
    auto& req = parser_->get();
    if (req.target().size() > c_.cfg.max_uri_bytes) {
      core::log_refusal(spdlog::level::info, "request refused: 414 (target of {} bytes)",
                        req.target().size());
      c_.metrics.refused(metrics::limit_kind::uri_414);
      return write(text_response(414, "URI Too Long", false));
    }
    // RFC 9112 3.2: an HTTP/1.1 request has exactly one Host header; an
    // HTTP/1.0 one at most one.
    std::size_t hosts = req.count(bhttp::field::host);
    if (hosts > 1 || (hosts == 0 && req.version() >= 11)) {
      core::log_refusal(spdlog::level::info, "request refused: 400 ({} Host headers)", hosts);
      return write(text_response(400, "Bad Request", false));
    }
    // RFC 9112 6.3: a request whose Transfer-Encoding does not end in
    // chunked has no knowable length: 400, and the connection closes (what
    // follows cannot be told apart from a next request). Codings other than
    // chunked (gzip, ...) are not decoded, so they are refused the same way.
    if (req.count(bhttp::field::transfer_encoding) &&
        (!parser_->chunked() || req.count(bhttp::field::transfer_encoding) > 1 ||
         !core::iequals(core::js_trim(req[bhttp::field::transfer_encoding]), "chunked"))) {
      core::log_refusal(spdlog::level::info, "request refused: 400 (Transfer-Encoding {})",
                        core::printable(req[bhttp::field::transfer_encoding]));
      return write(text_response(400, "Bad Request", false));
    }
    route_ =
        protocol::classify(req.method_string(), req.target(), header(req, bhttp::field::upgrade));
    // An upgrade is answered (or taken over) on its header: a WebSocket
    // request has no body, and frames may already follow it.
    if (route_ == protocol::route::websocket) return dispatch(view_of(req, route_));
    if (route_ == protocol::route::publish && req[bhttp::field::expect] == "100-continue") {
      // curl sends this for bodies over 1 KiB and waits a second without it.
      static const std::string cont = "HTTP/1.1 100 Continue\r\n\r\n";
      asio::async_write(socket_, asio::buffer(cont),
                        [self = shared_from_this()](beast::error_code e, std::size_t) {
                          if (e) return self->close();
                          self->read_body();
                        });
      return;
    }
    read_body();
  }

  void read_body() {
    bhttp::async_read(
        socket_, buffer_, *parser_,
        [self = shared_from_this()](beast::error_code ec, std::size_t) { self->on_body(ec); });
  }

  void on_body(beast::error_code ec) {
    if (ec) return on_read_error(ec);
    dispatch(view_of(parser_->get(), route_));
  }

  // The request is complete: the read deadline no longer applies (a
  // handler's own wait is bounded by the handler, and by its backstop), and
  // the handler answers through its exchange or takes the connection.
  void dispatch(const request& req) {
    deadline_.cancel();
    handling_ = true;
    ++seq_;
    handle_request(c_, route_, req, std::make_shared<request_exchange>(shared_from_this(), seq_));
  }

  void on_read_error(beast::error_code ec) {
    if (timed_out_ && parser_->got_some() && !close_after_answer_) {
      c_.metrics.refused(metrics::limit_kind::timeout_408);
      core::log_refusal(spdlog::level::info, "request refused: 408 (not received within {} ms)",
                        c_.cfg.request_timeout.count());
      return write(text_response(408, "Request Timeout", false));
    }
    if (ec == bhttp::error::end_of_stream || ec == asio::error::operation_aborted ||
        ec == beast::error::timeout || ec == asio::error::connection_reset ||
        ec == asio::error::eof)
      return close();
    if (ec == bhttp::error::header_limit) {
      core::log_refusal(spdlog::level::info, "request refused: 431 (headers above {} bytes)",
                        c_.cfg.max_header_bytes);
      c_.metrics.refused(metrics::limit_kind::header_431);
      return write(text_response(431, "Request Header Fields Too Large", false));
    }
    if (ec == bhttp::error::body_limit) {
      core::log_refusal(spdlog::level::info, "publish refused: 413 (body above {} bytes)",
                        c_.cfg.max_body_bytes);
      c_.metrics.refused(metrics::limit_kind::body_413);
      return write(json_error(413, "Payload Too Large", false));
    }
    spdlog::debug("bad HTTP request: {}", ec.message());
    write(text_response(400, "Bad Request", false));
  }

  // The handler's answer for request `seq`: written when that request is
  // still the one waiting for it, ignored otherwise (answered already by the
  // backstop, or from an older request).
  void answer(std::uint64_t seq, response r) {
    if (seq != seq_ || !handling_) return;
    handling_ = false;
    if (backstop_) backstop_->cancel();
    write(std::move(r));
  }

  net::stream_socket take_connection(std::uint64_t seq, std::string& early_bytes) {
    if (seq != seq_ || !handling_) return net::stream_socket(c_.ioc);
    handling_ = false;
    upgraded_ = true;
    deadline_.cancel();
    if (buffer_.size()) {
      auto early = buffer_.cdata();
      early_bytes.append(static_cast<const char*>(early.data()), early.size());
    }
    return std::move(socket_);
  }

  // The backstop holds the session (a strong reference), so the request is
  // answered even if every other reference to it is gone.
  void arm_backstop(std::uint64_t seq, std::chrono::steady_clock::time_point by, response fallback,
                    std::function<void()> fired) {
    if (seq != seq_ || !handling_) return;
    if (!backstop_) backstop_ = std::make_unique<asio::steady_timer>(c_.ioc);
    backstop_->expires_at(by);
    backstop_->async_wait([self = shared_from_this(), seq, fallback = std::move(fallback),
                           fired = std::move(fired)](boost::system::error_code ec) mutable {
      if (ec || seq != self->seq_ || !self->handling_) return;
      if (fired) fired();
      self->answer(seq, std::move(fallback));
    });
  }

  // Writes one complete answer; then reads the next request or closes.
  void write(response r) {
    if (upgraded_ || !socket_.is_open()) return;
    bool http10 = parser_ && parser_->get().version() == 10;
    bool request_keep = parser_ && parser_->is_header_done() && parser_->get().keep_alive();
    r.keep_alive = r.keep_alive && request_keep && !close_after_answer_;
    keep_ = r.keep_alive;
    c_.metrics.answered_http(r.status);
    // The idle limit is the request timeout (do_read arms it while waiting).
    out_ = serialize(r, http10, static_cast<int>(c_.cfg.request_timeout.count() / 1000));
    arm_deadline();  // a peer that does not read its answer is cut off too
    asio::async_write(socket_, asio::buffer(out_),
                      [self = shared_from_this()](beast::error_code ec, std::size_t) {
                        if (ec || !self->keep_ || self->close_after_answer_) return self->close();
                        self->do_read();
                      });
  }

  void close() {
    deadline_.cancel();
    net::linger_close(std::move(socket_), &c_.live_sessions);
  }

  context& c_;
  net::stream_socket socket_;
  beast::flat_buffer buffer_;
  std::optional<parser_type> parser_;
  protocol::route route_ = protocol::route::not_found;
  asio::steady_timer deadline_;                   // request_timeout for each read and write
  std::unique_ptr<asio::steady_timer> backstop_;  // while a handler promised an answer by then
  std::uint64_t seq_ = 0;                         // requests handed to handlers so far
  bool timed_out_ = false;
  std::string out_;                  // the answer being written
  bool keep_ = true;                 // read another request after out_
  bool handling_ = false;            // request seq_ is with its handler, not answered yet
  bool upgraded_ = false;            // the connection was taken by a WebSocket
  bool close_after_answer_ = false;  // shutdown asked us to stop
};

void start_session(context& c, net::stream_socket socket) {
  std::make_shared<session>(c, std::move(socket))->run();
}

void stop_sessions(context& c) {
  std::vector<session*> all(c.sessions.begin(), c.sessions.end());
  for (auto* s : all) s->stop();
}

}  // namespace hf::http
