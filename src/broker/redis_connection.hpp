// The two connections a node keeps to Redis (commands, and subscriptions,
// which hiredis cannot mix on one link), as one thing that is up or down:
// it connects both and logs them in (AUTH with the URL's user and password,
// SELECT of its db on the command link, then a PING), reports up once both
// have answered, reports down once either fails (a refused AUTH included,
// with Redis's reason) or Redis stops answering (a PING on the command link
// every second while up; no answer within 3 s, or no answer to the log-in
// within 3 s, is a failure: a hung or frozen Redis keeps its TCP connections
// open), and then reconnects with exponential backoff and jitter until
// stopped. Runs on one io_context's thread; every function and callback is
// on that thread.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <random>
#include <string>

#include "broker/redis_link.hpp"
#include "config/redis_url.hpp"

namespace hf::broker {

class redis_connection {
 public:
  // `up`: both links are connected (after start, and after every reconnect).
  // `down(why, was_up)`: the attempt failed or an established connection was
  // lost; a reconnect is already scheduled. Neither runs inside a hiredis
  // callback of a link it destroys.
  redis_connection(boost::asio::io_context& ioc, config::redis_endpoint where,
                   std::function<void()> up,
                   std::function<void(const std::string& why, bool was_up)> down);

  void start();
  // Closes both links and stops reconnecting. Pending replies get nullptr.
  void stop();

  bool is_up() const noexcept { return up_; }
  // The links while up; nullptr otherwise.
  redis_link* commands() const noexcept { return up_ ? cmd_.get() : nullptr; }
  redis_link* subscriber() const noexcept { return up_ ? sub_.get() : nullptr; }
  const config::redis_endpoint& endpoint() const noexcept { return where_; }

 private:
  void connect();
  // Logs `link` in (AUTH, SELECT), then counts it ready.
  void handshake(redis_link& link, bool commands, std::uint64_t attempt);
  void link_ready(std::uint64_t attempt);
  void on_lost(const std::string& why);
  // While up: a PING when none is waiting, and a failure when one has waited
  // longer than the reply timeout. Before up: the log-in's deadline.
  void watch(std::uint64_t attempt);

  boost::asio::io_context& ioc_;
  config::redis_endpoint where_;
  std::function<void()> up_fn_;
  std::function<void(const std::string&, bool)> down_fn_;
  boost::asio::steady_timer retry_;
  boost::asio::steady_timer watchdog_;
  std::optional<std::chrono::steady_clock::time_point> ping_sent_;  // the PING waiting, if any
  std::minstd_rand jitter_{std::random_device{}()};
  std::chrono::milliseconds backoff_;
  std::unique_ptr<redis_link> cmd_, sub_;
  int links_up_ = 0;
  std::uint64_t attempt_ = 0;  // connect() calls so far
  bool up_ = false;
  bool stopped_ = false;
};

}  // namespace hf::broker
