#include "broker/resp_link.hpp"

#include <hiredis/hiredis.h>

#include <algorithm>
#include <boost/asio/connect.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include <charconv>

#include "broker/resp_reader.hpp"

namespace hf::broker {
namespace asio = boost::asio;

namespace {
// A node that neither answers nor refuses (a dead host, a full backlog) is
// given up on after this long; the owner reconnects (or moves on).
constexpr auto connect_timeout = std::chrono::seconds(2);
// A link that has read nothing for `ping_after` sends PING (one small
// command a second per idle link); one that is owed a reply and has read
// nothing for `reply_timeout` fails, and its owner handles it as any lost
// connection. 3 s: well above a busy Redis's latency, below the 5 s a
// publish may wait at most, so the sockets of this node are served locally
// (and /readyz says so) while the publishes still waiting are answered by
// their deadlines.
constexpr auto ping_after = std::chrono::seconds(1);
constexpr auto reply_timeout = std::chrono::seconds(3);

std::string_view text(const redisReply* r) {
  return r && (r->type == REDIS_REPLY_STRING || r->type == REDIS_REPLY_STATUS ||
               r->type == REDIS_REPLY_ERROR)
             ? std::string_view(r->str, r->len)
             : std::string_view{};
}

// The kind of a pub/sub reply (["message", channel, payload], ["subscribe",
// channel, count], their sharded forms, ...), or empty for any other reply
// (a PING's ["pong", ""] on a subscribed link included).
std::string_view pubsub_kind(const redisReply* r) {
  if (!r || r->type != REDIS_REPLY_ARRAY || r->elements != 3 ||
      r->element[0]->type != REDIS_REPLY_STRING || r->element[1]->type != REDIS_REPLY_STRING)
    return {};
  std::string_view k = text(r->element[0]);
  for (std::string_view known :
       {"message", "smessage", "subscribe", "unsubscribe", "ssubscribe", "sunsubscribe"})
    if (k == known) return k;
  return {};
}

// The confirmation a subscription verb gets, as a literal (kept by pending
// entries), or empty for any other verb.
std::string_view confirmation_of(std::string_view verb) {
  if (verb == "SUBSCRIBE") return "subscribe";
  if (verb == "UNSUBSCRIBE") return "unsubscribe";
  if (verb == "SSUBSCRIBE") return "ssubscribe";
  if (verb == "SUNSUBSCRIBE") return "sunsubscribe";
  return {};
}

void append_decimal(std::string& out, std::size_t n) {
  char digits[24];  // 20 digits hold any 64-bit value
  auto res = std::to_chars(digits, digits + sizeof digits, n);
  out.append(digits, res.ptr);
}

// A command as Redis reads it: an array of bulk strings (binary-safe).
void append_command(std::string& out, const std::vector<std::string>& argv) {
  out.push_back('*');
  append_decimal(out, argv.size());
  out.append("\r\n", 2);
  for (const auto& a : argv) {
    out.push_back('$');
    append_decimal(out, a.size());
    out.append("\r\n", 2);
    out.append(a);
    out.append("\r\n", 2);
  }
}
}  // namespace

std::shared_ptr<resp_link> resp_link::make(asio::io_context& ioc, slots::endpoint at,
                                           redis_credentials login, push_fn push) {
  return std::shared_ptr<resp_link>(
      new resp_link(ioc, std::move(at), std::move(login), std::move(push)));
}

resp_link::resp_link(asio::io_context& ioc, slots::endpoint at, redis_credentials login,
                     push_fn push)
    : socket_(ioc),
      resolver_(ioc),
      connect_timer_(ioc),
      watchdog_(ioc),
      at_(std::move(at)),
      login_(std::move(login)),
      push_(std::move(push)),
      reader_(make_bounded_reader()) {}

resp_link::~resp_link() {
  if (reader_) redisReaderFree(reader_);
}

void resp_link::connect(std::function<void()> up, std::function<void(std::string)> down) {
  up_fn_ = std::move(up);
  down_fn_ = std::move(down);
  if (!reader_) return fail("out of memory");
  connect_timer_.expires_after(connect_timeout);
  connect_timer_.async_wait([self = shared_from_this()](boost::system::error_code ec) {
    if (!ec && !self->connected_) self->fail("connect timed out");
  });
  resolver_.async_resolve(
      at_.host, std::to_string(at_.port),
      [self = shared_from_this()](boost::system::error_code ec,
                                  asio::ip::tcp::resolver::results_type results) {
        if (self->dead_) return;
        if (ec) return self->fail("cannot resolve " + self->at_.host + ": " + ec.message());
        asio::async_connect(self->socket_, results,
                            [self](boost::system::error_code ec, const asio::ip::tcp::endpoint&) {
                              if (self->dead_) return;
                              if (ec) return self->fail(ec.message());
                              self->connected_ = true;
                              self->connect_timer_.cancel();
                              self->last_read_ = clock::now();
                              boost::system::error_code ignored;
                              self->socket_.set_option(asio::ip::tcp::no_delay(true), ignored);
                              self->handshake();
                              self->watch();
                              self->read();
                              self->flush();
                            });
      });
}

// AUTH (with a password), SELECT (of a db other than 0) and PING go first,
// ahead of what was queued; the link is up once Redis has answered the PING.
void resp_link::handshake() {
  std::string queued = std::move(unsent_);
  auto before = std::move(waiting_);
  unsent_.clear();
  waiting_.clear();
  if (!login_.password.empty()) {
    std::vector<std::string> auth = {"AUTH"};
    if (!login_.user.empty()) auth.push_back(login_.user);
    auth.push_back(login_.password);
    command(auth, [self = shared_from_this()](redisReply* r) {
      if (r && r->type == REDIS_REPLY_ERROR) self->fail("AUTH refused: " + std::string(text(r)));
    });
  }
  if (login_.db != 0) {
    command({"SELECT", std::to_string(login_.db)}, [self = shared_from_this()](redisReply* r) {
      if (r && r->type == REDIS_REPLY_ERROR) self->fail("SELECT refused: " + std::string(text(r)));
    });
  }
  command({"PING"}, [self = shared_from_this()](redisReply* r) {
    if (!r || self->dead_) return;
    if (r->type == REDIS_REPLY_ERROR) return self->fail("PING refused: " + std::string(text(r)));
    self->up_ = true;
    if (self->up_fn_) self->up_fn_();
  });
  unsent_ += queued;
  for (auto& p : before) waiting_.push_back(std::move(p));
}

void resp_link::close() { fail("closed"); }

void resp_link::queue(const std::vector<std::string>& argv, pending p) {
  if (dead_ || argv.empty()) {
    if (p.fn) p.fn(nullptr);
    return;
  }
  append_command(unsent_, argv);
  if (waiting_.empty()) owed_since_ = clock::now();
  waiting_.push_back(std::move(p));
  flush();
}

void resp_link::command(const std::vector<std::string>& argv, reply_fn done) {
  queue(argv, {std::move(done), {}, {}});
}

void resp_link::subscription(std::string_view verb, const std::string& channel) {
  std::string_view kind = confirmation_of(verb);
  if (kind.empty()) return;
  queue({std::string(verb), channel}, {{}, kind, channel});
}

// Commands queued during one turn of the io_context go out in one write:
// the write is started by a handler posted behind the ones already waiting
// (a burst of publishes handled one by one costs one send, as with
// hiredis's write events), and what queues while a write is in flight
// follows it at once.
void resp_link::flush() {
  if (!connected_ || dead_ || !writing_.empty() || unsent_.empty() || write_posted_) return;
  write_posted_ = true;
  asio::post(socket_.get_executor(), [self = shared_from_this()] {
    self->write_posted_ = false;
    self->write();
  });
}

void resp_link::write() {
  if (!connected_ || dead_ || !writing_.empty() || unsent_.empty()) return;
  writing_.swap(unsent_);
  asio::async_write(socket_, asio::buffer(writing_),
                    [self = shared_from_this()](boost::system::error_code ec, std::size_t) {
                      if (self->dead_) return;
                      if (ec) return self->fail(ec.message());
                      self->writing_.clear();
                      self->write();
                    });
}

void resp_link::read() {
  socket_.async_read_some(
      asio::buffer(buf_), [self = shared_from_this()](boost::system::error_code ec, std::size_t n) {
        if (self->dead_) return;
        if (ec) return self->fail(ec == asio::error::eof ? "closed by Redis" : ec.message());
        self->last_read_ = clock::now();
        if (redisReaderFeed(self->reader_, self->buf_, n) != REDIS_OK)
          return self->fail("unreadable reply");
        for (;;) {
          void* out = nullptr;
          if (redisReaderGetReply(self->reader_, &out) != REDIS_OK)
            return self->fail("unreadable reply");
          if (!out) break;
          auto* r = static_cast<redisReply*>(out);
          self->dispatch(r);
          freeReplyObject(r);
          if (self->dead_) return;  // a callback closed the link
        }
        self->read();
      });
}

void resp_link::dispatch(redisReply* r) {
  // Only a subscriber link (one with a push handler) gets pushes; on a
  // command link every reply answers the command at the front.
  std::string_view kind = push_ ? pubsub_kind(r) : std::string_view{};
  if (kind == "message" || kind == "smessage") {
    push_(kind, text(r->element[1]), text(r->element[2]), true);
    return;
  }
  if (!kind.empty()) {
    // A confirmation answers the subscription waiting at the front; one
    // that answers none came from Redis (a "sunsubscribe": the slot moved).
    std::string_view channel = text(r->element[1]);
    bool requested = !waiting_.empty() && waiting_.front().sub_kind == kind &&
                     waiting_.front().channel == channel;
    if (requested) waiting_.pop_front();
    push_(kind, channel, {}, requested);
    return;
  }
  if (waiting_.empty()) return fail("a reply nobody asked for");
  pending p = std::move(waiting_.front());
  waiting_.pop_front();
  if (p.fn) return p.fn(r);
  if (!p.sub_kind.empty() && r->type == REDIS_REPLY_ERROR && push_)
    push_("error", p.channel, text(r), true);
}

// Wakes at the next moment something may be due: a PING (a second after
// the last read, when nothing is owed), a failure (3 s after the later of
// the last read and the request that made a reply owed), and at least once a
// second while a reply is owed (it may come, leaving the link idle).
void resp_link::watch() {
  auto now = clock::now();
  clock::time_point next;
  if (!waiting_.empty()) {
    auto deadline = std::max(last_read_, owed_since_) + reply_timeout;
    if (now >= deadline) return fail("no answer from Redis for 3 s");
    next = std::min(deadline, now + ping_after);
  } else if (now - last_read_ >= ping_after) {
    command({"PING"}, {});
    if (dead_) return;
    next = now + ping_after;
  } else {
    next = last_read_ + ping_after;
  }
  watchdog_.expires_at(next);
  watchdog_.async_wait([self = shared_from_this()](boost::system::error_code ec) {
    if (!ec && !self->dead_) self->watch();
  });
}

void resp_link::fail(const std::string& why) {
  if (dead_) return;
  dead_ = true;
  up_ = false;
  connect_timer_.cancel();
  watchdog_.cancel();
  resolver_.cancel();
  boost::system::error_code ignored;
  socket_.close(ignored);
  auto waiting = std::move(waiting_);
  waiting_.clear();
  for (auto& p : waiting)
    if (p.fn) p.fn(nullptr);
  if (auto down = std::exchange(down_fn_, nullptr)) down(why);
  up_fn_ = nullptr;
  push_ = nullptr;
}

}  // namespace hf::broker
