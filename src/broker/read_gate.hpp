// How many stream reads (recovering sockets, docs/protocol.md section 7) a
// node runs in Redis at once, and how many one user may ask for. Pure
// bookkeeping with an injected clock, on the broker's thread.
//
// Per node: at most max_running scripts at once (each returns at most
// MAX_QUEUED_BYTES), the rest wait in order, at most max_waiting of them; a
// reconnect storm after a restart is served in turn, not refused. Per user:
// at most per_user reads a window; more is a client bug or abuse (one token
// opening many sockets to make Redis copy its history), answered
// recovered:false without asking Redis.
#pragma once

#include <chrono>
#include <cstddef>
#include <string>
#include <unordered_map>

namespace hf::broker {

class read_gate {
 public:
  using clock = std::chrono::steady_clock;
  // Reads in Redis at once: a few MiB each at most.
  static constexpr std::size_t max_running = 8;
  // Reads waiting for their turn: a restart of a node with this many
  // recovering sockets is served; beyond, recovered:false.
  static constexpr std::size_t max_waiting = 10'000;
  // Reads one user may ask for per window (on this node): more than the
  // tabs and devices of one person reconnecting at once.
  static constexpr std::size_t per_user = 32;
  static constexpr auto window = std::chrono::seconds(10);

  enum class verdict { run, wait, refuse };
  // A read of `user` is asked for. run: start it (counted as running);
  // wait: start it later, when next() says so; refuse: answer not ok.
  verdict admit(const std::string& user, clock::time_point now);
  // A running read finished: true when a waiting one may start now
  // (counted as running).
  bool next();
  // Redis was lost: nothing runs or waits any more (the caller answers the
  // waiting reads).
  void reset() noexcept { running_ = waiting_ = 0; }
  std::size_t running() const noexcept { return running_; }

 private:
  std::size_t running_ = 0, waiting_ = 0;
  clock::time_point window_start_{};
  std::unordered_map<std::string, std::size_t> asked_;  // this window's reads per user
};

}  // namespace hf::broker
