#include "http/session.hpp"

#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <chrono>
#include <utility>

#include "core/log.hpp"
#include "core/text.hpp"
#include "http/handlers.hpp"
#include "http/request_parser.hpp"

namespace hf::http {
namespace asio = boost::asio;

class session final : public std::enable_shared_from_this<session> {
 public:
  session(context& c, net::detached_socket s)
      : c_(c),
        raw_(s),
        socket_(c.ioc),
        parser_({c.cfg.max_header_bytes, c.cfg.max_body_bytes, c.cfg.max_uri_bytes}),
        deadline_(c.ioc) {
    c_.sessions.insert(this);
    ++c_.live_sessions;
  }
  ~session() {
    if (raw_.fd >= 0) ::close(raw_.fd);  // never registered nor taken
    c_.sessions.erase(this);
    --c_.live_sessions;
  }

  // A new connection's request is usually there already (the client sent it
  // right behind its connect): it is read at once, and a request read whole
  // this way needs no deadline at all.
  void run() {
    std::span<char> room = parser_.prepare();
    boost::system::error_code ec;
    std::size_t n = net::receive_now(raw_.fd, room.data(), room.size(), ec);
    if (ec && ec != asio::error::would_block) return close();
    parser_.commit(n);
    parse();
  }

  // Server shutdown: close now when idle, else after the answer in flight.
  void stop() {
    close_after_answer_ = true;
    if (handling_) return;
    if (raw_.fd >= 0) return void(::shutdown(raw_.fd, SHUT_RDWR));
    boost::system::error_code ec;
    socket_.shutdown(net::stream_socket::shutdown_both, ec);
    socket_.cancel(ec);
  }

 private:
  // The socket joins the io_context's reactor: the session is about to
  // wait on it. False when that failed (the descriptor is closed then).
  bool registered() {
    if (raw_.fd < 0) return socket_.is_open();
    boost::system::error_code ec;
    socket_.assign(raw_.protocol, raw_.fd, ec);
    if (ec) ::close(raw_.fd);
    raw_.fd = -1;
    return !ec;
  }
  bool open() const { return raw_.fd >= 0 || socket_.is_open(); }

 public:
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
    int take_connection(std::string& early_bytes) override {
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

  // Waits for the next request: it may be buffered already (pipelined).
  void do_read() {
    disarm_deadline();  // the next request's starts when we wait for it
    parse();
  }

  // Cancels the pending read or write when the deadline passes. The timer
  // is not cancelled and re-armed for every request (each costs the timer
  // queue and a completion): a wait already under way that ends no later
  // than the new deadline is kept, and when it ends it looks at the deadline
  // of that moment: none (a handler has the request), later (waits again),
  // or passed.
  void arm_deadline() {
    timed_out_ = false;
    deadline_at_ = std::chrono::steady_clock::now() + c_.cfg.request_timeout;
    if (!deadline_waiting_) wait_deadline();  // else it ends sooner, and looks again
  }
  void wait_deadline() {
    deadline_waiting_ = true;
    deadline_.expires_at(deadline_at_);
    deadline_.async_wait([weak = weak_from_this()](boost::system::error_code ec) {
      auto self = weak.lock();
      if (!self) return;
      self->deadline_waiting_ = false;
      if (ec || self->deadline_at_ == no_deadline) return;  // closed, or with a handler
      if (self->deadline_at_ > std::chrono::steady_clock::now()) return self->wait_deadline();
      self->timed_out_ = true;
      self->socket_.cancel(ec);
    });
  }
  // No deadline: a handler has the request, or the next one is not waited
  // for yet.
  void disarm_deadline() { deadline_at_ = no_deadline; }

  void read_more() {
    // One deadline for the whole request, from the moment we first wait for
    // it: a slow sender (slowloris) gets 408 no later than this.
    if (deadline_at_ == no_deadline) arm_deadline();
    // The deadline passed while a completion was already queued (its cancel
    // found nothing to cancel): the request is out of time all the same.
    if (timed_out_) return on_read_error(asio::error::timed_out);
    if (!registered()) return close();
    if (want_continue_) {
      // curl sends Expect: 100-continue for bodies over 1 KiB and waits a
      // second for this before sending the body anyway.
      want_continue_ = false;
      static constexpr std::string_view cont = "HTTP/1.1 100 Continue\r\n\r\n";
      asio::async_write(socket_, asio::buffer(cont.data(), cont.size()),
                        [self = shared_from_this()](boost::system::error_code e, std::size_t) {
                          if (e) return self->close();
                          self->read_more();
                        });
      return;
    }
    std::span<char> room = parser_.prepare();
    socket_.async_read_some(
        asio::buffer(room.data(), room.size()),
        [self = shared_from_this()](boost::system::error_code ec, std::size_t n) {
          if (ec) return self->on_read_error(ec);
          self->parser_.commit(n);
          self->parse();
        });
  }

  // Reads what is buffered: a complete request goes to its handler.
  void parse() {
    for (;;) {
      switch (parser_.parse()) {
        case request_parser::status::need_more:
          return read_more();
        case request_parser::status::head: {
          request head = parser_.view();
          route_ = protocol::classify(head.method, head.target, head.upgrade);
          // An upgrade is answered (or taken over) on its head: frames may
          // already follow it.
          if (route_ == protocol::route::websocket) return dispatch(head);
          want_continue_ = route_ == protocol::route::publish && parser_.expects_continue();
          continue;
        }
        case request_parser::status::complete:
          want_continue_ = false;
          return dispatch(parser_.view());
        case request_parser::status::refused:
          return refuse(parser_.why_refused());
      }
    }
  }

  void refuse(const refusal& r) {
    switch (r.status) {
      case 413:
        core::log_refusal(spdlog::level::info, "publish refused: 413 (body above {} bytes)",
                          c_.cfg.max_body_bytes);
        c_.metrics.refused(metrics::limit_kind::body_413);
        return write(json_error(413, "Payload Too Large", false));
      case 414:
        core::log_refusal(spdlog::level::info, "request refused: 414 (target above {} bytes)",
                          c_.cfg.max_uri_bytes);
        c_.metrics.refused(metrics::limit_kind::uri_414);
        return write(text_response(414, "URI Too Long", false));
      case 431:
        core::log_refusal(spdlog::level::info, "request refused: 431 ({}, {} bytes)", r.why,
                          c_.cfg.max_header_bytes);
        c_.metrics.refused(metrics::limit_kind::header_431);
        return write(text_response(431, "Request Header Fields Too Large", false));
      default:
        core::log_refusal(spdlog::level::info, "request refused: 400 ({})", r.why);
        return write(text_response(400, "Bad Request", false));
    }
  }

  // The request is complete: the read deadline no longer applies (a
  // handler's own wait is bounded by the handler, and by its backstop), and
  // the handler answers through its exchange or takes the connection.
  void dispatch(const request& req) {
    disarm_deadline();
    handling_ = true;
    ++seq_;
    handle_request(c_, route_, req, std::make_shared<request_exchange>(shared_from_this(), seq_));
  }

  void on_read_error(boost::system::error_code ec) {
    if (timed_out_ && parser_.got_some() && !close_after_answer_) {
      c_.metrics.refused(metrics::limit_kind::timeout_408);
      core::log_refusal(spdlog::level::info, "request refused: 408 (not received within {} ms)",
                        c_.cfg.request_timeout.count());
      return write(text_response(408, "Request Timeout", false));
    }
    // A peer that stops sending in the middle of a request (half-close) is
    // told its request was incomplete; one that leaves between requests is
    // just closed.
    if (ec == asio::error::eof && parser_.got_some() && !close_after_answer_) {
      core::log_refusal(spdlog::level::info, "request refused: 400 (connection ended mid-request)");
      return write(text_response(400, "Bad Request", false));
    }
    close();
  }

  // The handler's answer for request `seq`: written when that request is
  // still the one waiting for it, ignored otherwise (answered already by the
  // backstop, or from an older request).
  void answer(std::uint64_t seq, response r) {
    if (seq != seq_ || !handling_) return;
    handling_ = false;
    disarm_backstop();
    write(std::move(r));
  }

  int take_connection(std::uint64_t seq, std::string& early_bytes) {
    if (seq != seq_ || !handling_) return -1;
    handling_ = false;
    upgraded_ = true;
    deadline_.cancel();
    disarm_backstop();  // a wait kept from an earlier publish would hold this session
    if (backstop_) backstop_->cancel();
    early_bytes.append(parser_.after_head());
    if (raw_.fd < 0) return net::release(socket_);  // it waited once: out of the reactor
    return std::exchange(raw_.fd, -1);
  }

  // The backstop's wait holds the session (a strong reference), so the
  // request is answered even if every other reference to it is gone. Like
  // the deadline, the wait is not cancelled when the answer comes: it is
  // kept for the connection's next request when it ends no later than that
  // one's backstop, and only close() cancels it.
  void arm_backstop(std::uint64_t seq, std::chrono::steady_clock::time_point by, response fallback,
                    std::function<void()> fired) {
    if (seq != seq_ || !handling_) return;
    backstop_at_ = by;
    backstop_fallback_ = std::move(fallback);
    backstop_fired_ = std::move(fired);
    if (!backstop_) backstop_ = std::make_unique<asio::steady_timer>(c_.ioc);
    if (backstop_waiting_ && backstop_->expiry() <= by) return;  // ends sooner, and looks again
    wait_backstop();
  }
  void wait_backstop() {
    backstop_waiting_ = true;
    backstop_->expires_at(backstop_at_);  // a later wait ends with operation_aborted
    backstop_->async_wait([self = shared_from_this()](boost::system::error_code ec) {
      if (ec == asio::error::operation_aborted) return;  // replaced by a sooner one, or closed
      self->backstop_waiting_ = false;
      if (!self->handling_ || self->backstop_at_ == no_deadline) return;
      if (self->backstop_at_ > std::chrono::steady_clock::now()) return self->wait_backstop();
      auto fired = std::move(self->backstop_fired_);
      response fallback = std::move(self->backstop_fallback_);
      self->disarm_backstop();
      if (fired) fired();
      self->answer(self->seq_, std::move(fallback));
    });
  }
  void disarm_backstop() {
    if (backstop_at_ == no_deadline) return;
    backstop_at_ = no_deadline;
    backstop_fallback_ = {};
    backstop_fired_ = nullptr;
  }

  // Writes one complete answer; then reads the next request or closes.
  void write(response r) {
    if (upgraded_ || !open()) return;
    bool http10 = parser_.head_done() && parser_.version() == 10;
    bool request_keep = parser_.head_done() && parser_.keep_alive();
    r.keep_alive = r.keep_alive && request_keep && !close_after_answer_;
    keep_ = r.keep_alive;
    c_.metrics.answered_http(r.status);
    // The idle limit is the request timeout (do_read arms it while waiting).
    out_.clear();  // its capacity serves the next answer too
    serialize_to(out_, r, http10, static_cast<int>(c_.cfg.request_timeout.count() / 1000));
    arm_deadline();  // a peer that does not read its answer is cut off too
    if (!registered()) return close();
    asio::async_write(socket_, asio::buffer(out_),
                      [self = shared_from_this()](boost::system::error_code ec, std::size_t) {
                        if (ec || !self->keep_ || self->close_after_answer_) return self->close();
                        // A large answer's buffer (/metrics) is not kept for the next one.
                        if (self->out_.capacity() > (64 << 10)) self->out_ = std::string();
                        self->parser_.next();
                        self->do_read();
                      });
  }

  void close() {
    deadline_.cancel();
    disarm_backstop();  // what it holds may hold this session
    if (backstop_) backstop_->cancel();
    if (!open() || !registered()) return;
    net::linger_close(std::move(socket_), &c_.live_sessions);
  }

  context& c_;
  net::detached_socket raw_;   // until registered(): the descriptor, no io_context state
  net::stream_socket socket_;  // from registered() on
  request_parser parser_;      // the connection's input buffer and the request being read
  protocol::route route_ = protocol::route::not_found;
  static constexpr auto no_deadline = std::chrono::steady_clock::time_point::max();
  asio::steady_timer deadline_;  // request_timeout for each read and write
  std::chrono::steady_clock::time_point deadline_at_ = no_deadline;  // none: with a handler
  bool deadline_waiting_ = false;                 // deadline_ has a wait under way
  std::unique_ptr<asio::steady_timer> backstop_;  // while a handler promised an answer by then
  std::chrono::steady_clock::time_point backstop_at_ = no_deadline;
  response backstop_fallback_;            // answered at backstop_at_, unless answered before
  std::function<void()> backstop_fired_;  // run just before backstop_fallback_ is answered
  bool backstop_waiting_ = false;         // backstop_ has a wait under way
  std::uint64_t seq_ = 0;                 // requests handed to handlers so far
  bool timed_out_ = false;
  bool want_continue_ = false;       // a publish's body is awaited and it asked for 100 Continue
  std::string out_;                  // the answer being written
  bool keep_ = true;                 // read another request after out_
  bool handling_ = false;            // request seq_ is with its handler, not answered yet
  bool upgraded_ = false;            // the connection was taken by a WebSocket
  bool close_after_answer_ = false;  // shutdown asked us to stop
};

void start_session(context& c, net::detached_socket socket) {
  std::make_shared<session>(c, socket)->run();
}

void stop_sessions(context& c) {
  std::vector<session*> all(c.sessions.begin(), c.sessions.end());
  for (auto* s : all) s->stop();
}

}  // namespace hf::http
