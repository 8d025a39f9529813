// Section 14 of docs/protocol.md: after a publish with `"webhook": true` was
// answered, its targets that had not acked may still ack until LATE_ACK_MS
// after the publish arrived; each such ack becomes a `late_ack` event. This
// table keeps, per answered envelope, the targets still awaited and until
// when. Pure: no clock (callers pass `now`), no sockets. One owner thread
// (a hub shard).
//
// Bounded: at most max_envelopes envelopes and max_targets targets per
// table (one per shard); a publish that would go past either is not watched
// (watch() says so, and the shard counts it), so a flood of webhook
// publishes to users who never ack costs at most a few tens of MiB.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "ack/ack_collector.hpp"

namespace hf::ack {

class late_acks {
 public:
  using clock = std::chrono::steady_clock;
  // About 100 bytes an envelope and 48 a target (with its device name):
  // at most some 30 MiB per shard when both are full.
  static constexpr std::size_t max_envelopes = 100'000;
  static constexpr std::size_t max_targets = 400'000;

  // Watches `waiting` (targets of `envelope_id`, a publish to `user` that
  // arrived at `arrived`) until `ends`. False (nothing kept) when the table
  // is full or there is nothing to watch.
  bool watch(const std::string& envelope_id, const std::string& user, clock::time_point arrived,
             clock::time_point ends, std::vector<target> waiting);

  // An ack from `socket` (of `user`) for `envelope_id` at `now`: when it is
  // an awaited target within the window, it stops being awaited and its
  // device and the publish's arrival are returned.
  struct taken {
    std::optional<std::string> device;
    clock::time_point arrived;
  };
  std::optional<taken> take(std::string_view envelope_id, std::string_view user,
                            std::uint64_t socket, clock::time_point now);

  // Forgets every envelope whose window ended by `now`.
  void expire(clock::time_point now);

  bool empty() const noexcept { return entries_.empty(); }
  std::size_t envelopes() const noexcept { return entries_.size(); }
  std::size_t targets() const noexcept { return targets_; }

 private:
  struct entry {
    std::string user;
    clock::time_point arrived, ends;
    std::vector<target> waiting;
  };
  struct id_hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept {
      return std::hash<std::string_view>{}(s);
    }
  };
  std::unordered_map<std::string, entry, id_hash, std::equal_to<>> entries_;
  // Envelope ids in the order they were watched: their windows end in about
  // that order (the same LATE_ACK_MS from arrivals that come in order), so
  // expire() looks at the front only. An id already gone is skipped; ids
  // take() finished are dropped when they reach 2 * max_envelopes.
  std::deque<std::pair<clock::time_point, std::string>> order_;
  std::size_t targets_ = 0;
};

}  // namespace hf::ack
