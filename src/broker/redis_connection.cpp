#include "broker/redis_connection.hpp"

#include <boost/asio/post.hpp>

namespace hf::broker {
namespace {
// Reconnect delays: from 100 ms, doubling, at most 5 s, each drawn uniformly
// from [d/2, 3d/2] so that nodes that lost Redis together do not return in
// lockstep.
constexpr auto reconnect_min = std::chrono::milliseconds(100);
constexpr auto reconnect_max = std::chrono::milliseconds(5000);
}  // namespace

redis_connection::redis_connection(boost::asio::io_context& ioc, config::redis_endpoint where,
                                   std::function<void()> up,
                                   std::function<void(const std::string&, bool)> down)
    : ioc_(ioc),
      where_(std::move(where)),
      up_fn_(std::move(up)),
      down_fn_(std::move(down)),
      retry_(ioc),
      backoff_(reconnect_min) {}

void redis_connection::start() { connect(); }

void redis_connection::stop() {
  stopped_ = true;
  retry_.cancel();
  up_ = false;
  cmd_.reset();
  sub_.reset();
}

void redis_connection::connect() {
  if (stopped_) return;
  links_up_ = 0;
  ++attempt_;
  cmd_ = std::make_unique<redis_link>(ioc_, where_.host, where_.port);
  sub_ = std::make_unique<redis_link>(ioc_, where_.host, where_.port);
  // A link's "up" from an attempt that has already failed (its partner
  // dropped first) must not count for the next one.
  auto link_up = [this, attempt = attempt_] {
    if (attempt != attempt_ || !cmd_ || !sub_) return;
    if (++links_up_ < 2) return;
    up_ = true;
    backoff_ = reconnect_min;
    up_fn_();
  };
  auto link_down = [this](std::string why) { on_lost(why); };
  cmd_->connect(link_up, link_down);
  sub_->connect(link_up, link_down);
}

void redis_connection::on_lost(const std::string& why) {
  if (stopped_ || (!cmd_ && !sub_)) return;  // already handled for this attempt
  bool was_up = up_;
  up_ = false;
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
