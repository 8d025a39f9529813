// This process's claim on its NODE_ID in Redis: "hf:node:<id>" holds the
// incarnation of the live process that uses that id, renewed every
// store::claim_every while Redis is up and expiring after three missed
// renewals. Another incarnation found there means a second live process
// uses the same NODE_ID: answers stay apart (each process has its own reply
// channel) but logs and metrics are ambiguous, so it is logged and shown.
// Runs on the broker's thread, except duplicate().
#pragma once

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <functional>
#include <string>

#include "broker/redis_backend.hpp"
#include "broker/store.hpp"

namespace hf::broker {

class node_claim {
 public:
  // `tick` runs after every claim while up (the broker renews tainted
  // epochs there, at most claim_every after a failure).
  node_claim(boost::asio::io_context& ioc, redis_backend& redis, const store::commands& cmds,
             std::string node_id, std::string incarnation, std::function<void()> tick);

  // Claims now, then every claim_every until redis_lost() or stop().
  void claim();
  void redis_lost() { timer_.cancel(); }
  // Shutdown: gives NODE_ID back if this process still holds it, then calls
  // `done` once (at most release_wait later, whatever Redis does).
  void release(std::function<void()> done);
  // Any thread.
  bool duplicate() const noexcept { return duplicate_.load(std::memory_order_relaxed); }

 private:
  // How long shutdown waits for Redis to take the NODE_ID back.
  static constexpr auto release_wait = std::chrono::milliseconds(200);

  boost::asio::io_context& ioc_;
  redis_backend& redis_;
  const store::commands& cmds_;
  std::string node_id_, incarnation_;
  std::function<void()> tick_;
  boost::asio::steady_timer timer_;
  std::atomic<bool> duplicate_{false};
};

}  // namespace hf::broker
