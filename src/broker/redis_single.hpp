// One Redis (REDIS_URL) as the cluster broker's backend: classic PUBLISH and
// SUBSCRIBE through two links to it (broker/resp_link.hpp), one for
// commands, one for subscriptions (a subscribed connection takes no other
// commands), as one thing that is up or down.
//
// It connects both and logs them in (AUTH with the URL's user and password;
// SELECT of its db on the command link only, pub/sub being the same in
// every db; then a PING), and is up once both have answered. It reports down
// once per attempt when either link fails (a refused AUTH or SELECT
// included, with Redis's reason; a Redis that stops answering is noticed by
// the links' watchdog within 3-4 s), or when the log-in has not completed
// within 3 s of connecting; then reconnects with exponential backoff and
// jitter (broker/backoff.hpp: 100 ms doubling to 5 s) until stopped.
//
// Every SUBSCRIBE's confirmation is reported through `subscribed` (the
// broker counts them: subscription_table::every_reply_reported(true)); a
// refused SUBSCRIBE (an ACL without the channel) is logged, not reported.
// Runs on one io_context's thread; every function and callback is on it.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cstdint>
#include <memory>

#include "broker/backoff.hpp"
#include "broker/redis_backend.hpp"
#include "broker/resp_link.hpp"
#include "config/redis_url.hpp"

namespace hf::broker {

class redis_single final : public redis_backend {
 public:
  redis_single(boost::asio::io_context& ioc, config::redis_endpoint where, handlers h);
  ~redis_single() override;
  redis_single(const redis_single&) = delete;
  redis_single& operator=(const redis_single&) = delete;

  void start() override;
  void stop() override;
  bool up() const noexcept override { return up_; }
  bool sharded() const noexcept override { return false; }
  using redis_backend::command;
  bool command(argv_ptr argv, std::string_view key, reply_fn done) override;
  void subscribe(const std::string& channel) override;
  void unsubscribe(const std::string& channel) override;
  std::string describe() const override;

 private:
  void connect();
  void link_up(std::uint64_t attempt);
  void lost(std::uint64_t attempt, const std::string& why);
  void on_push(std::string_view kind, std::string_view channel, std::string_view payload);

  boost::asio::io_context& ioc_;
  config::redis_endpoint where_;
  handlers h_;
  std::shared_ptr<resp_link> cmd_, sub_;  // this attempt's links (null once lost or stopped)
  boost::asio::steady_timer retry_;       // the next attempt
  boost::asio::steady_timer login_deadline_;
  backoff backoff_;
  std::uint64_t attempt_ = 0;  // bumped per attempt and when it is over: late callbacks ignored
  bool up_ = false, stopped_ = false;
};

}  // namespace hf::broker
