#include "broker/redis_single.hpp"

#include <hiredis/hiredis.h>
#include <spdlog/spdlog.h>

#include <boost/asio/post.hpp>

#include "core/log.hpp"

namespace hf::broker {
namespace {
// Reconnect delays: from 100 ms, doubling, at most 5 s (one Redis that is
// down is usually restarting: a few seconds), each drawn from [d/2, 3d/2].
constexpr auto reconnect_min = std::chrono::milliseconds(100);
constexpr auto reconnect_max = std::chrono::milliseconds(5000);
// Both links must be logged in (their PING answered) this long after
// connecting began: a Redis that accepts connections but does not answer
// (frozen, overloaded) is given up on as quickly as one that stops
// answering while up (the links' reply timeout).
constexpr auto login_timeout = std::chrono::seconds(3);
}  // namespace

redis_single::redis_single(boost::asio::io_context& ioc, config::redis_endpoint where, handlers h)
    : ioc_(ioc),
      where_(std::move(where)),
      h_(std::move(h)),
      retry_(ioc),
      login_deadline_(ioc),
      backoff_(reconnect_min, reconnect_max) {}

redis_single::~redis_single() { stop(); }

void redis_single::start() { connect(); }

void redis_single::stop() {
  stopped_ = true;
  ++attempt_;
  up_ = false;
  retry_.cancel();
  login_deadline_.cancel();
  // Replies still waiting get nullptr now; the links' own callbacks (down)
  // are ignored (attempt_ moved on).
  if (auto c = std::exchange(cmd_, nullptr)) c->close();
  if (auto s = std::exchange(sub_, nullptr)) s->close();
}

void redis_single::connect() {
  if (stopped_) return;
  std::uint64_t attempt = ++attempt_;
  login_deadline_.expires_after(login_timeout);
  login_deadline_.async_wait([this, attempt](boost::system::error_code ec) {
    if (!ec && !up_) lost(attempt, "no answer from Redis within 3 s of connecting");
  });
  slots::endpoint at{where_.host, where_.port};
  cmd_ = resp_link::make(ioc_, at, {where_.user, where_.password, where_.db});
  sub_ = resp_link::make(ioc_, at, {where_.user, where_.password, 0},
                         [this, attempt](std::string_view kind, std::string_view channel,
                                         std::string_view payload, bool) {
                           if (attempt == attempt_) on_push(kind, channel, payload);
                         });
  auto up = [this, attempt] { link_up(attempt); };
  auto down = [this, attempt](const std::string& why) { lost(attempt, why); };
  cmd_->connect(up, down);
  // (A link that cannot even start fails at once: the attempt is over, and
  // lost() has the subscriber link closed.)
  if (attempt == attempt_) sub_->connect(up, down);
}

void redis_single::link_up(std::uint64_t attempt) {
  if (attempt != attempt_ || up_ || !cmd_ || !sub_ || !cmd_->up() || !sub_->up()) return;
  up_ = true;
  login_deadline_.cancel();
  backoff_.reset();
  h_.up();
}

void redis_single::lost(std::uint64_t attempt, const std::string& why) {
  if (stopped_ || attempt != attempt_) return;  // already handled for this attempt
  ++attempt_;
  bool was_up = std::exchange(up_, false);
  login_deadline_.cancel();
  // Closed on the next turn, not inside the failing link's own callback;
  // meanwhile neither link's callbacks count (attempt_ moved on).
  boost::asio::post(ioc_, [c = std::exchange(cmd_, nullptr), s = std::exchange(sub_, nullptr)] {
    if (c) c->close();
    if (s) s->close();
  });
  retry_.expires_after(backoff_.next());
  retry_.async_wait([this](boost::system::error_code ec) {
    if (!ec) connect();
  });
  h_.down(why, was_up);
}

bool redis_single::command(argv_ptr argv, std::string_view, reply_fn done) {
  // The link's own state too: while a failing link hands its waiting
  // replies their nullptr, before `down` has run, nothing new is taken.
  if (!up_ || !cmd_ || !cmd_->up()) return false;
  cmd_->command(*argv, std::move(done));
  return true;
}

void redis_single::subscribe(const std::string& channel) {
  if (up_ && sub_) sub_->subscription("SUBSCRIBE", channel);
}

void redis_single::unsubscribe(const std::string& channel) {
  if (up_ && sub_) sub_->subscription("UNSUBSCRIBE", channel);
}

std::string redis_single::describe() const {
  return "Redis " + where_.host + ":" + std::to_string(where_.port);
}

void redis_single::on_push(std::string_view kind, std::string_view channel,
                           std::string_view payload) {
  if (kind == "message") return h_.message(channel, payload);
  // Every SUBSCRIBE's confirmation, as the broker counts them.
  if (kind == "subscribe") return h_.subscribed(channel);
  if (kind == "error")
    core::log_refusal(spdlog::level::warn, "cluster: Redis refused a subscription: {}", payload);
  // "unsubscribe": nothing to do.
}

}  // namespace hf::broker
