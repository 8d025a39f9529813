// The answers of one publish to many users (docs/protocol.md section 15,
// `userIds`): one delivery per user, answered in any order, gathered in the
// users' order under one result budget for the whole request. Pure: no
// clock, no sockets. Not thread-safe: one owner (the HTTP worker that took
// the request; the brokers' answers are posted to it).
#pragma once

#include <cstddef>
#include <optional>
#include <vector>

#include "hub/delivery.hpp"
#include "protocol/users_answer.hpp"

namespace hf::ack {

class users_tally {
 public:
  // `users`: one entry per user, in the body's order, with its user and
  // envelope ids set. `max_results_bytes` (MAX_RESULTS_BYTES) bounds the
  // results of all users together, as it bounds one publish's: each
  // user's delivery already keeps its own results within it, so without
  // this a request to 1000 users could hold and answer 1000 times as much.
  users_tally(std::vector<protocol::user_answer> users, std::size_t max_results_bytes);

  // The answer for users()[i]. Its results are kept in their order while
  // they fit what the budget has left (answers are taken in the order they
  // arrive, as acks are within one publish); the rest are left out and
  // counted in the user's `dropped`, and the acked receipts they came with
  // lose their `result` (as the result limits do within one publish).
  // Returns true when this was the last answer awaited. A second answer
  // for the same user is ignored (returns false).
  bool add(std::size_t i, hub::delivery_result r);

  const std::vector<protocol::user_answer>& users() const noexcept { return users_; }
  std::size_t waiting() const noexcept { return waiting_; }
  // Sums over the answers so far.
  std::size_t client_count() const noexcept { return client_count_; }
  std::size_t dropped() const noexcept { return dropped_; }
  // The worst degradation among the answers so far (unknown over partial
  // over local-only); nullopt when none was degraded.
  std::optional<metrics::degradation> degraded() const noexcept { return degraded_; }

 private:
  std::vector<protocol::user_answer> users_;
  std::vector<bool> answered_;
  std::size_t budget_;  // result bytes still allowed
  std::size_t waiting_;
  std::size_t client_count_ = 0, dropped_ = 0;
  std::optional<metrics::degradation> degraded_;
};

}  // namespace hf::ack
