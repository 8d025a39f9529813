// Bookkeeping for one publish waiting for its targets' acks (docs/protocol.md
// section 5). Pure: no clock, no sockets; the owner (a hub shard) feeds it
// events and asks whether it is complete. Not thread-safe: one owner thread.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "ack/result_list.hpp"

namespace hf::ack {

class ack_collector {
 public:
  // `targets` are the ids of the sockets the envelope was sent to.
  explicit ack_collector(std::vector<std::uint64_t> targets, result_limits limits = {});

  // Records the ack of `socket` when it is a target that has neither acked
  // nor gone; acks from strangers and second acks are ignored. Returns true
  // when the ack was recorded. Its result is kept in arrival order, or left
  // out and counted when it does not fit the result limits.
  bool on_ack(std::uint64_t socket, std::string result_json);

  // `socket` closed or failed: it stops being waited for. Returns true when it
  // was still awaited.
  bool on_gone(std::uint64_t socket);

  // Every target has acked or gone: the answer can be sent now.
  bool complete() const noexcept { return outstanding_ == 0; }
  std::size_t client_count() const noexcept { return targets_.size(); }
  std::size_t outstanding() const noexcept { return outstanding_; }
  std::vector<std::string>& results() noexcept { return results_.items(); }
  // Acks whose result was left out by the result limits.
  std::size_t dropped() const noexcept { return results_.dropped(); }

 private:
  enum class state : std::uint8_t { waiting, acked, gone };
  // Index of `socket` in targets_, or -1 (binary search: targets_ is sorted, so
  // a 10,000-socket fan-out costs log2(10,000) = 14 steps per ack).
  std::ptrdiff_t find(std::uint64_t socket) const noexcept;

  std::vector<std::uint64_t> targets_;
  std::vector<state> states_;
  result_list results_;
  std::size_t outstanding_;
};

}  // namespace hf::ack
