// The rules that keep a recovering socket's envelopes without gaps or
// duplicates (docs/protocol.md section 7), as pure functions: no sockets, no
// clock, no threads. The shard owns the state (one socket's
// sent_before_recover and cursor) and does the sending; these decide what
// to send and in which order. Fuzzed by tests/fuzz/recovery_merge_fuzz.cpp.
//
// A socket's life, as these functions see it:
// 1. Before its `recover`, envelopes reach it without offsets; their
//    offsets are remembered (sent_before_recover) so that a replay does not
//    send them again.
// 2. At the `recover`, its user's stream is read (locally at once, or from
//    Redis one round trip later). Live envelopes that arrive during the read
//    are held; plan_replay merges the read with them.
// 3. From the `recovered` frame on, every envelope goes through advance():
//    a new epoch is announced first, an offset the socket already has (or
//    was told is behind the latest) is skipped.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "recovery/stream.hpp"

namespace hf::recovery {

// The offsets of the envelopes a socket was sent before its `recover`.
// Bounded: a socket that gets more than max_tracked before it recovers
// stops tracking and will be answered recovered:false (the server cannot
// vouch for what it has). Costs one empty vector per socket that never
// asks.
class sent_before_recover {
 public:
  // Enough for the moments between a socket's upgrade and its `recover`.
  static constexpr std::size_t max_tracked = 128;

  void record(std::uint64_t offset);
  bool contains(std::uint64_t offset) const noexcept;
  bool overflowed() const noexcept { return overflow_; }
  // Frees the memory (after the recover, nothing is tracked any more).
  void release() noexcept;

 private:
  // Allocated at the first record: a socket that was sent nothing holds a
  // pointer (a socket's idle memory, docs/performance.md).
  std::unique_ptr<std::vector<std::uint64_t>> offsets_;
  bool overflow_ = false;
};

// What a socket gets in answer to its `recover`, in this order: `replay`
// (in offset order), the `recovered` frame (with the view's epoch,
// `frame_offset` and `recovered`), then `later` (through advance()).
struct replay_plan {
  bool recovered = false;
  // The view's latest offset; lower when envelopes of the view's epoch at
  // or below it were held and follow the frame (see plan_replay).
  std::uint64_t frame_offset = 0;
  std::vector<numbered> replay;
  std::vector<numbered> later;
};

// Merges a read of the stream with the live envelopes `held` while it was
// read. `after` is the position the client gave (none: it asked for offsets
// only); `view` must be ok. `wanted(env)`: the socket's filters match now.
//
// - recovered is true only when a position was given, in the view's epoch,
//   the view is complete back to it, and nothing sent before the recover
//   went untracked;
// - the replay holds the kept envelopes after the position that match and
//   were not sent before the recover, plus the held ones up to the latest
//   that are not already there and are after the position: each offset
//   once, ascending;
// - later holds the held envelopes beyond the view (a higher offset, or
//   another epoch), and, when the position was not in the view's epoch
//   (or there was none), the held envelopes of the view's epoch: no
//   envelope of an epoch comes before the frame that names it. The frame
//   then gives the offset before the first of these, and they come first
//   in `later`, in offset order.
replay_plan plan_replay(const std::optional<stream_position>& after, stream_view view,
                        std::vector<numbered> held, const sent_before_recover& sent,
                        const std::function<bool(const protocol::envelope&)>& wanted);

// Where an opted-in socket stands: the epoch it was last told and the
// highest offset of that epoch it has (or was told is the latest), and the
// epoch it was told before that (a socket never goes back to it).
struct cursor {
  std::string epoch;
  std::uint64_t last = 0;
  std::string left;
};

// The config epoch a Redis Cluster master stamped an epoch name with
// ("<config epoch>:...", broker/lua/epoch.lua), if any: Redis gives a
// slot's new owner a higher one than the master it replaces.
std::optional<std::uint64_t> epoch_stamp(std::string_view epoch) noexcept;

// True when `epoch` is known to be older than `than`: both stamped, with a
// lower stamp.
bool older_epoch(std::string_view epoch, std::string_view than) noexcept;

enum class step : std::uint8_t {
  send,                // the next offset of the socket's epoch (or a later one)
  announce_then_send,  // another epoch: a recovered:false frame naming it first
  skip,                // already sent, or behind what the socket was told
};

// Decides what happens to envelope (`epoch`, `offset`) on a socket at `c`,
// and moves `c` past it unless it is skipped. An epoch change announces the
// new epoch with the offset before this envelope (offset - 1). A socket's
// epoch never goes back: an envelope of the epoch it left, or of one
// stamped older than its own, is skipped.
step advance(cursor& c, std::string_view epoch, std::uint64_t offset);

}  // namespace hf::recovery
