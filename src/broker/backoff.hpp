// Reconnect delays, the same for every Redis backend (broker/redis_single.hpp,
// broker/redis_cluster.hpp): from `min`, doubling after every failure, at
// most `max`, and back to `min` on success. next() draws each delay
// uniformly from [d/2, 3d/2] (d the current step) so that nodes that lost
// Redis together do not return in lockstep; step() gives d itself, for a
// cooldown that needs no spreading. Pure (no clock, no I/O); the random
// source is injected so that tests are deterministic. Not thread-safe: one
// owner thread. Never throws once constructed.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <functional>
#include <random>
#include <utility>

namespace hf::broker {

class backoff {
 public:
  using millis = std::chrono::milliseconds;
  // Uniformly distributed unsigned numbers; taken modulo d + 1 for a delay
  // of d ms (d at most a few thousand: the bias of the modulo is negligible).
  // An empty source means no jitter: next() gives d itself (for owners that
  // only use step()).
  using random_source = std::function<std::uint32_t()>;

  // A source seeded from the system's entropy, for production use.
  static random_source system_random() {
    return [engine = std::minstd_rand(std::random_device{}())]() mutable {
      return static_cast<std::uint32_t>(engine());
    };
  }

  // `min` is at least 1 ms (a zero step would never grow); `max` at least
  // `min`.
  backoff(millis min, millis max, random_source random = system_random())
      : min_(std::max(min, millis(1))),
        max_(std::max(max, min_)),
        step_(min_),
        random_(std::move(random)) {}

  // The delay before the next attempt, jittered in [d/2, 3d/2]; doubles d
  // (up to max) for the attempt after.
  millis next() {
    millis d = step();
    auto r = random_ ? static_cast<std::int64_t>(random_()) : d.count() / 2;
    return millis(d.count() / 2 + r % (d.count() + 1));
  }

  // The current step d itself, without jitter; doubles it (up to max).
  millis step() {
    millis d = step_;
    step_ = std::min(step_ * 2, max_);
    return d;
  }

  // The attempt succeeded: the next failure starts again from min.
  void reset() noexcept { step_ = min_; }

  // The step the next call to next() or step() uses.
  millis current() const noexcept { return step_; }

 private:
  millis min_, max_, step_;
  random_source random_;
};

}  // namespace hf::broker
