#include "broker/redis_connection.hpp"

#include <hiredis/hiredis.h>

#include <boost/asio/post.hpp>

namespace hf::broker {
namespace {
// Reconnect delays: from 100 ms, doubling, at most 5 s, each drawn uniformly
// from [d/2, 3d/2] so that nodes that lost Redis together do not return in
// lockstep.
constexpr auto reconnect_min = std::chrono::milliseconds(100);
constexpr auto reconnect_max = std::chrono::milliseconds(5000);
// A Redis that answers nothing for this long is taken as lost: well above a
// busy Redis's latency, below the 5 s a publish may wait at most, so that
// the sockets of this node are served locally (and /readyz says so) while
// the publishes still waiting are answered by their deadlines.
constexpr auto reply_timeout = std::chrono::milliseconds(3000);
// How often a PING goes out while up (one command a second per node).
constexpr auto ping_every = std::chrono::milliseconds(1000);
}  // namespace

redis_connection::redis_connection(boost::asio::io_context& ioc, config::redis_endpoint where,
                                   std::function<void()> up,
                                   std::function<void(const std::string&, bool)> down)
    : ioc_(ioc),
      where_(std::move(where)),
      up_fn_(std::move(up)),
      down_fn_(std::move(down)),
      retry_(ioc),
      watchdog_(ioc),
      backoff_(reconnect_min) {}

void redis_connection::start() { connect(); }

void redis_connection::stop() {
  stopped_ = true;
  retry_.cancel();
  watchdog_.cancel();
  up_ = false;
  cmd_.reset();
  sub_.reset();
}

void redis_connection::connect() {
  if (stopped_) return;
  links_up_ = 0;
  std::uint64_t attempt = ++attempt_;
  cmd_ = std::make_unique<redis_link>(ioc_, where_.host, where_.port);
  sub_ = std::make_unique<redis_link>(ioc_, where_.host, where_.port);
  auto link_down = [this](std::string why) { on_lost(why); };
  cmd_->connect(
      [this, attempt] {
        if (attempt == attempt_ && cmd_) handshake(*cmd_, true, attempt);
      },
      link_down);
  sub_->connect(
      [this, attempt] {
        if (attempt == attempt_ && sub_) handshake(*sub_, false, attempt);
      },
      link_down);
  ping_sent_.reset();
  watchdog_.expires_after(reply_timeout);
  watchdog_.async_wait([this, attempt](boost::system::error_code ec) {
    if (!ec) watch(attempt);
  });
}

void redis_connection::watch(std::uint64_t attempt) {
  if (stopped_ || attempt != attempt_ || (!cmd_ && !sub_)) return;
  auto now = std::chrono::steady_clock::now();
  if (!up_) return on_lost("no answer from Redis within 3 s of connecting");
  if (ping_sent_ && now - *ping_sent_ >= reply_timeout)
    return on_lost("no answer from Redis for 3 s");
  if (!ping_sent_ && cmd_->command({"PING"}, [this, attempt](redisReply* r) {
        if (attempt == attempt_ && r) ping_sent_.reset();
      }))
    ping_sent_ = now;
  watchdog_.expires_after(ping_every);
  watchdog_.async_wait([this, attempt](boost::system::error_code ec) {
    if (!ec) watch(attempt);
  });
}

void redis_connection::handshake(redis_link& link, bool commands, std::uint64_t attempt) {
  // Each step runs only while this attempt is the current one: a link's
  // late answer from an attempt that already failed (its partner dropped
  // first) must not count for the next one.
  auto current = [this, attempt] { return attempt == attempt_ && cmd_ && sub_; };
  auto failed = [](redisReply* r) { return !r || r->type == REDIS_REPLY_ERROR; };
  auto why = [](redisReply* r, const char* what) {
    return std::string(what) + ": " + (r ? std::string(r->str, r->len) : "connection lost");
  };
  // Last, a PING: a link is ready once Redis has answered on it (a frozen
  // Redis still accepts connections).
  auto ping = [this, &link, attempt, current, failed, why] {
    link.command({"PING"}, [this, attempt, current, failed, why](redisReply* r) {
      if (!current()) return;
      if (failed(r)) return on_lost(why(r, "PING refused"));
      link_ready(attempt);
    });
  };
  auto select = [this, &link, commands, current, failed, why, ping] {
    if (!commands || where_.db == 0) return ping();
    link.command({"SELECT", std::to_string(where_.db)},
                 [this, current, failed, why, ping](redisReply* r) {
                   if (!current()) return;
                   if (failed(r)) return on_lost(why(r, "SELECT refused"));
                   ping();
                 });
  };
  if (where_.password.empty()) return select();
  std::vector<std::string> auth = {"AUTH"};
  if (!where_.user.empty()) auth.push_back(where_.user);
  auth.push_back(where_.password);
  link.command(auth, [this, current, failed, why, select](redisReply* r) {
    if (!current()) return;
    if (failed(r)) return on_lost(why(r, "AUTH refused"));
    select();
  });
}

void redis_connection::link_ready(std::uint64_t attempt) {
  if (attempt != attempt_ || !cmd_ || !sub_) return;
  if (++links_up_ < 2) return;
  up_ = true;
  backoff_ = reconnect_min;
  // From now on the watchdog PINGs (its log-in deadline is over).
  watchdog_.expires_after(ping_every);
  watchdog_.async_wait([this, attempt](boost::system::error_code ec) {
    if (!ec) watch(attempt);
  });
  up_fn_();
}

void redis_connection::on_lost(const std::string& why) {
  if (stopped_ || (!cmd_ && !sub_)) return;  // already handled for this attempt
  bool was_up = up_;
  up_ = false;
  watchdog_.cancel();
  ping_sent_.reset();
  // The links are destroyed on the next turn: this may run inside their
  // callbacks.
  boost::asio::post(ioc_, [c = std::move(cmd_), s = std::move(sub_)]() mutable {
    c.reset();
    s.reset();
  });
  auto delay = std::chrono::milliseconds(backoff_.count() / 2 + jitter_() % (backoff_.count() + 1));
  backoff_ = std::min(backoff_ * 2, reconnect_max);
  retry_.expires_after(delay);
  retry_.async_wait([this](boost::system::error_code ec) {
    if (!ec) connect();
  });
  down_fn_(why, was_up);
}

}  // namespace hf::broker
