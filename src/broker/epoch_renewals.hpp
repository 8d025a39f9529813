// Users whose epochs this node must renew in Redis (docs/protocol.md
// section 7): a node that delivered to a user alone, while its part of Redis
// was unreachable, cannot vouch for that user's offsets, so the user gets a
// new epoch in Redis before the node next uses Redis for it (and before the
// node is ready again after an outage). Runs on the broker's thread; sends
// through the function it is given, and reports each answer through
// `settled` (the broker then checks whether it can be up).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <unordered_set>
#include <utility>

namespace hf::broker {

class epoch_renewals {
 public:
  // Users renewed after an outage: beyond this many the node says so in the
  // log (those users' old positions can no longer be told apart from good
  // ones). Bounds the set's memory.
  static constexpr std::size_t max_tainted = 100'000;

  // send(user, done): sends one renewal, in order with the user's later
  // commands; returns false when it could not be sent (then `done` is not
  // called), else calls done(ok) once.
  using send_fn = std::function<bool(const std::string& user, std::function<void(bool ok)> done)>;
  epoch_renewals(send_fn send, std::function<void()> settled)
      : send_(std::move(send)), settled_(std::move(settled)) {}

  // `user` was delivered to alone.
  void taint(const std::string& user);
  // Renews every tainted user (each is untainted meanwhile, tainted again
  // if its renewal fails).
  void renew_all();
  // Renews `user` now if it is tainted. On a Redis Cluster part of Redis can
  // fail while the node stays up: a user delivered to alone meanwhile gets
  // its new epoch before the node next publishes or reads for it through
  // Redis.
  void renew_if_tainted(const std::string& user);
  // Redis was lost: renewals still unanswered no longer count (their users
  // are tainted again when the answer comes).
  void redis_lost();

  bool busy() const noexcept { return renewing_ > 0; }
  bool any_tainted() const noexcept { return !tainted_.empty(); }
  // True once after more than max_tainted users were tainted.
  bool take_overflow() noexcept { return std::exchange(overflow_, false); }

 private:
  void renew(const std::string& user);

  send_fn send_;
  std::function<void()> settled_;
  std::unordered_set<std::string> tainted_;
  bool overflow_ = false;
  std::size_t renewing_ = 0;   // renewals sent, not yet answered
  std::uint64_t outages_ = 0;  // times Redis was lost: older renewals' answers don't count
};

}  // namespace hf::broker
