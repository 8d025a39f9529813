#include "net/http_session.hpp"

#include <spdlog/spdlog.h>

#include <array>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <optional>

#include "auth/token_source.hpp"
#include "core/log.hpp"
#include "net/worker.hpp"
#include "net/ws_session.hpp"
#include "protocol/http_response.hpp"
#include "protocol/publish_request.hpp"
#include "protocol/routing.hpp"
#include "ws/handshake.hpp"

namespace hf::net {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {

std::optional<std::string_view> header(const http::request_header<>& h, http::field f) {
  auto it = h.find(f);
  if (it == h.end()) return std::nullopt;
  return it->value();
}

std::int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

class http_session : public std::enable_shared_from_this<http_session> {
 public:
  http_session(worker& w, tcp::socket s) : w_(w), stream_(std::move(s)), deadline_(w.ioc) {
    w_.http_sessions.insert(this);
    ++w_.svc.live_sessions;
  }
  ~http_session() {
    w_.http_sessions.erase(this);
    --w_.svc.live_sessions;
  }

  void run() { do_read(); }

  // Server shutdown: close now when idle, else after the answer in flight.
  void stop() {
    close_after_answer_ = true;
    if (!busy_) {
      boost::system::error_code ec;
      stream_.socket().shutdown(tcp::socket::shutdown_both, ec);
      stream_.cancel();
    }
  }

 private:
  void do_read() {
    parser_.emplace();
    parser_->header_limit(static_cast<std::uint32_t>(w_.svc.cfg.max_header_bytes));
    parser_->body_limit(w_.svc.cfg.max_body_bytes);
    // One deadline for the whole request, from the moment we start waiting:
    // a slow sender (slowloris) gets 408 no later than this. (Our own timer,
    // not the stream's: the stream would close the socket before a 408.)
    arm_deadline();
    http::async_read_header(
        stream_, buffer_, *parser_,
        [self = shared_from_this()](beast::error_code ec, std::size_t) { self->on_header(ec); });
  }

  // Cancels the pending read or write when the deadline passes.
  void arm_deadline() {
    timed_out_ = false;
    deadline_.expires_after(w_.svc.cfg.request_timeout);
    deadline_.async_wait([weak = weak_from_this()](boost::system::error_code ec) {
      auto self = weak.lock();
      if (ec || !self) return;
      self->timed_out_ = true;
      self->stream_.socket().cancel();
    });
  }

  void on_header(beast::error_code ec) {
    if (ec) return on_read_error(ec);
    auto& req = parser_->get();
    if (req.target().size() > w_.svc.cfg.max_uri_bytes) {
      core::log_refusal(spdlog::level::info, "request refused: 414 (target of {} bytes)",
                        req.target().size());
      ++w_.metrics.limits[static_cast<std::size_t>(protocol::limit_kind::uri_414)];
      return respond_text(http::status::uri_too_long, "URI Too Long", false);
    }
    route_ =
        protocol::classify(req.method_string(), req.target(), header(req, http::field::upgrade));
    if (route_ == protocol::route::websocket) return upgrade();
    if (route_ == protocol::route::publish &&
        parser_->get()[http::field::expect] == "100-continue") {
      // curl sends this for bodies over 1 KiB and waits a second without it.
      static const std::string cont = "HTTP/1.1 100 Continue\r\n\r\n";
      asio::async_write(stream_, asio::buffer(cont),
                        [self = shared_from_this()](beast::error_code e, std::size_t) {
                          if (e) return;
                          self->read_body();
                        });
      return;
    }
    read_body();
  }

  void read_body() {
    http::async_read(
        stream_, buffer_, *parser_,
        [self = shared_from_this()](beast::error_code ec, std::size_t) { self->on_body(ec); });
  }

  void on_read_error(beast::error_code ec) {
    if (timed_out_ && parser_->got_some() && !close_after_answer_) {
      ++w_.metrics.limits[static_cast<std::size_t>(protocol::limit_kind::timeout_408)];
      core::log_refusal(spdlog::level::info, "request refused: 408 (not received within {} ms)",
                        w_.svc.cfg.request_timeout.count());
      return respond_text(http::status::request_timeout, "Request Timeout", false);
    }
    if (ec == http::error::end_of_stream || ec == asio::error::operation_aborted ||
        ec == beast::error::timeout || ec == asio::error::connection_reset ||
        ec == asio::error::eof)
      return close();
    if (ec == http::error::header_limit) {
      core::log_refusal(spdlog::level::info, "request refused: 431 (headers above {} bytes)",
                        w_.svc.cfg.max_header_bytes);
      ++w_.metrics.limits[static_cast<std::size_t>(protocol::limit_kind::header_431)];
      return respond_text(http::status::request_header_fields_too_large,
                          "Request Header Fields Too Large", false);
    }
    if (ec == http::error::body_limit) {
      core::log_refusal(spdlog::level::info, "publish refused: 413 (body above {} bytes)",
                        w_.svc.cfg.max_body_bytes);
      ++w_.metrics.limits[static_cast<std::size_t>(protocol::limit_kind::body_413)];
      return respond_json(http::status::payload_too_large,
                          protocol::serialize_error("Payload Too Large"), false);
    }
    spdlog::debug("bad HTTP request: {}", ec.message());
    respond_text(http::status::bad_request, "Bad Request", false);
  }

  void on_body(beast::error_code ec) {
    if (ec) return on_read_error(ec);
    auto& req = parser_->get();
    bool keep = req.keep_alive() && !close_after_answer_;
    switch (route_) {
      case protocol::route::preflight:
        return write(protocol::http_response(204, protocol::response_body::cors_preflight, {}, keep,
                                             http10()));
      case protocol::route::publish:
        return publish(keep);
      case protocol::route::healthz:
        return respond_text(http::status::ok, "ok", keep);
      case protocol::route::readyz: {
        bool ready = !w_.svc.not_ready && !w_.svc.stopping && w_.svc.broker.cluster_state() != 0;
        return respond_text(
            ready ? http::status::ok : http::status::service_unavailable,
            ready ? "ready"
                  : (w_.svc.stopping || w_.svc.not_ready ? "draining" : "redis unavailable"),
            keep);
      }
      case protocol::route::metrics:
        return scrape(keep);
      default:
        return respond_text(http::status::not_found, "Not Found", keep);
    }
  }

  void publish(bool keep) {
    auto& req = parser_->get();
    std::string token = auth::extract_token(header(req, http::field::authorization), req.target());
    auto who = w_.tokens.verify(token, unix_now());
    if (!who) {
      count_auth_failure(who.error());
      ++w_.metrics.publish_errors;
      core::log_refusal(spdlog::level::info, "publish rejected: 401 ({})", who.error().message());
      return respond_json(http::status::unauthorized, protocol::serialize_error("Unauthorized"),
                          keep);
    }
    auto parsed =
        protocol::parse_publish_request(header(req, http::field::content_type), req.body());
    if (!parsed) {
      auto e = static_cast<errc>(parsed.error().value());
      auto status = e == errc::unsupported_media_type ? http::status::unsupported_media_type
                                                      : http::status::bad_request;
      ++w_.metrics.publish_errors;
      return respond_json(status, protocol::serialize_error(parsed.error().message()), keep);
    }
    auto& p = *parsed;
    auto wait = w_.svc.cfg.ack_timeout;
    if (p.ack_timeout_ms) wait = std::min(wait, std::chrono::milliseconds(*p.ack_timeout_ms));
    auto until = std::chrono::steady_clock::now() + wait;
    auto env = std::make_shared<const protocol::envelope>(
        protocol::make_envelope(std::move(p.type), std::move(p.user_id), std::move(p.payload),
                                std::chrono::system_clock::now()));
    busy_ = true;
    deadline_.cancel();  // the broker bounds the wait by `until`
    auto started = std::chrono::steady_clock::now();
    w_.svc.broker.publish(
        std::move(env), until,
        [self = shared_from_this(), keep, started](hub::delivery_result r) mutable {
          asio::post(self->stream_.get_executor(), [self, keep, started, r = std::move(r)]() {
            self->busy_ = false;
            auto& m = self->w_.metrics;
            ++m.publishes_answered;
            if (r.client_count == 0) ++m.publishes_no_target;
            m.observe_latency(
                std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
            self->respond_json(http::status::ok,
                               protocol::serialize_publish_answer(r.client_count, r.results),
                               keep && !self->close_after_answer_);
          });
        });
  }

  void upgrade() {
    auto& req = parser_->get();
    std::string token = auth::extract_token(header(req, http::field::authorization), req.target());
    auto who = w_.tokens.verify(token, unix_now());
    if (!who) {
      count_auth_failure(who.error());
      core::log_refusal(spdlog::level::info, "upgrade rejected: 401 ({})", who.error().message());
      return respond_text(http::status::unauthorized, "Unauthorized", false);
    }
    if (w_.svc.stopping)
      return respond_text(http::status::service_unavailable, "Service Unavailable", false);
    auto hs = ws::check_handshake(
        {req.method_string(), req.version(), header(req, http::field::connection),
         header(req, http::field::upgrade), header(req, http::field::sec_websocket_key),
         header(req, http::field::sec_websocket_version)});
    if (!hs.ok()) {
      core::log_refusal(spdlog::level::info, "upgrade rejected: {} ({})", hs.status, hs.reason);
      if (hs.status == 426) version_header_ = true;
      return respond_text(static_cast<http::status>(hs.status), hs.reason, false);
    }
    deadline_.cancel();
    ws_upgrade up{std::move(hs.accept), {}, std::move(who->user_id)};
    if (buffer_.size()) {
      auto early = buffer_.cdata();
      up.early_bytes.assign(static_cast<const char*>(early.data()), early.size());
    }
    tcp::socket s = stream_.release_socket();
    std::size_t owner = w_.svc.hub.owner_index(up.user_id);
    if (owner == w_.index) return start_websocket(w_, std::move(s), std::move(up));
    // Move the connection to the owning shard's thread: the fd changes
    // io_context, the user's state never changes thread.
    boost::system::error_code ec;
    auto protocol = w_.svc.ipv6 ? tcp::v6() : tcp::v4();
    int fd = s.release(ec);
    if (ec) return;
    worker& target = *w_.svc.workers[owner];
    asio::post(target.ioc, [&target, fd, protocol, up = std::move(up)]() mutable {
      boost::system::error_code e;
      tcp::socket moved(target.ioc);
      moved.assign(protocol, fd, e);
      if (e) {
        ::close(fd);
        return;
      }
      start_websocket(target, std::move(moved), std::move(up));
    });
  }

  void respond_json(http::status status, std::string_view body, bool keep) {
    write(protocol::http_response(static_cast<unsigned>(status), protocol::response_body::json,
                                  body, keep, http10()));
  }

  void respond_text(http::status status, std::string_view body, bool keep) {
    write(protocol::http_response(static_cast<unsigned>(status), protocol::response_body::text,
                                  body, keep, http10(),
                                  version_header_ ? "sec-websocket-version: 13\r\n" : ""));
  }

  bool http10() const { return parser_ && parser_->get().version() == 10; }

  void count_auth_failure(const boost::system::error_code& ec) {
    auto i = static_cast<std::size_t>(ec.value());
    if (i < w_.metrics.auth_failures.size()) ++w_.metrics.auth_failures[i];
  }

  // GET /metrics: every worker copies its counters and shard gauges on its
  // own thread; the copies are summed here, on this session's thread.
  void scrape(bool keep) {
    struct gather {
      protocol::counters c;
      protocol::gauges g;
      std::size_t left;
    };
    auto acc = std::make_shared<gather>();
    acc->left = w_.svc.workers.size();
    acc->g.ready = !w_.svc.not_ready && !w_.svc.stopping && w_.svc.broker.cluster_state() != 0;
    acc->g.cluster = w_.svc.broker.cluster_state();
    std::tie(acc->g.cluster_rtt_seconds, acc->g.cluster_rtt_count) = w_.svc.broker.cluster_rtt();
    busy_ = true;
    for (worker* k : w_.svc.workers) {
      asio::post(k->ioc, [k, acc, self = shared_from_this(), keep] {
        protocol::counters copy = k->metrics;
        auto st = k->shard.stats();
        std::size_t http = k->http_sessions.size();
        asio::post(self->stream_.get_executor(), [copy, st, http, acc, self, keep] {
          acc->c.add(copy);
          acc->g.sockets += st.connections;
          acc->g.users += st.users;
          acc->g.pending_publishes += st.pending_publishes;
          acc->g.http_connections += http;
          if (--acc->left) return;
          self->busy_ = false;
          self->write(protocol::http_response(200, protocol::response_body::metrics,
                                              protocol::render_prometheus(acc->c, acc->g),
                                              keep && !self->close_after_answer_, self->http10()));
        });
      });
    }
  }

  // Writes one complete response; then reads the next request or closes.
  void write(std::string response) {
    unsigned status_class = response.size() > 9 ? static_cast<unsigned>(response[9] - '0') : 0;
    ++w_.metrics.http_status[status_class < w_.metrics.http_status.size() ? status_class : 0];
    out_ = std::move(response);
    keep_ = out_.find("\r\nconnection: close\r\n") == std::string::npos;
    arm_deadline();  // a peer that does not read its answer is cut off too
    asio::async_write(stream_, asio::buffer(out_),
                      [self = shared_from_this()](beast::error_code ec, std::size_t) {
                        if (ec || !self->keep_ || self->close_after_answer_) return self->close();
                        self->do_read();
                      });
  }

  // Lingering close (as nginx does): send FIN, then read and discard what the
  // peer still sends (say, the rest of a refused 2 MiB body) until it closes,
  // for at most a second. Closing at once would turn unread bytes into a
  // reset, and the peer would lose the answer it was sent.
  void close() {
    if (lingering_) return;
    lingering_ = true;
    boost::system::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
    if (ec) return stream_.close();
    deadline_.expires_after(std::chrono::seconds(1));
    deadline_.async_wait([weak = weak_from_this()](boost::system::error_code e) {
      if (auto self = weak.lock(); self && !e) self->stream_.close();
    });
    drain();
  }

  void drain() {
    thread_local std::array<char, 16384> discard;
    stream_.socket().async_read_some(
        asio::buffer(discard),
        [self = shared_from_this()](boost::system::error_code ec, std::size_t) {
          if (!ec) return self->drain();
          self->deadline_.cancel();
          self->stream_.close();
        });
  }

  worker& w_;
  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  protocol::route route_ = protocol::route::not_found;
  asio::steady_timer deadline_;  // request_timeout for each read and write
  bool timed_out_ = false;
  bool lingering_ = false;
  std::string out_;                  // the response being written
  bool keep_ = true;                 // read another request after out_
  bool version_header_ = false;      // a 426 answer names the version we speak
  bool busy_ = false;                // a publish is waiting for its answer
  bool close_after_answer_ = false;  // shutdown asked us to stop
};

void start_http_session(worker& w, tcp::socket socket) {
  std::make_shared<http_session>(w, std::move(socket))->run();
}

void stop_http_sessions(worker& w) {
  std::vector<http_session*> all(w.http_sessions.begin(), w.http_sessions.end());
  for (auto* s : all) s->stop();
}

}  // namespace hf::net
