// Per-user offsets and recent envelopes on one node (docs/protocol.md section 7):
// every envelope published to a user gets the next offset in the user's
// epoch, and the last ones are kept, bounded by a count per user, an age and
// a memory budget, so that a socket that reconnects can be sent what it
// missed. Pure: no clock of its own (callers pass `now`), no I/O; the epoch
// names come from an injected source. Not thread-safe: one per shard, used
// on the shard's thread.
//
// A user's stream (epoch and latest offset) lives as long as the user has a
// socket here or a record in the history, and at most `ttl` after its last
// publish otherwise: a user nothing is known about starts a new epoch, so a
// position in a forgotten epoch can never be answered "recovered".
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/ring.hpp"
#include "protocol/envelope.hpp"

namespace hf::recovery {

using time_point = std::chrono::steady_clock::time_point;

struct history_limits {
  // HISTORY_SIZE: envelopes kept per user. 0 turns history off (offsets are
  // still assigned, and `recover` answers recovered:false behind the latest).
  std::size_t per_user = 100;
  // HISTORY_TTL_MS: how long an envelope stays recoverable.
  std::chrono::milliseconds ttl{120'000};
  // HISTORY_MAX_BYTES for this history (a shard's share of the node's): the
  // oldest records go first when it is reached.
  std::size_t max_bytes = 64 << 20;
};

struct record {
  std::uint64_t offset;
  time_point at;
  std::shared_ptr<const protocol::envelope> env;
};

class history {
 public:
  // `sockets_of(user)`: how many sockets the user has open here now. A
  // stream is made only when a user is published to or asked about (a
  // connected user nobody publishes to costs nothing here); a stream made
  // for a user with open sockets counts them from the start, as if pinned.
  using socket_count = std::function<std::size_t(const std::string& user)>;
  history(history_limits limits, std::function<std::string()> new_epoch,
          socket_count sockets_of = {});
  history(const history&) = delete;
  history& operator=(const history&) = delete;

  struct stamp {
    std::uint64_t offset;
    bool new_epoch;     // the user had no stream: this envelope starts a new epoch
    std::string epoch;  // the epoch `offset` counts in (no second lookup of the user)
  };
  // Gives `env` the next offset of its user and keeps it (within the limits).
  stamp append(std::shared_ptr<const protocol::envelope> env, time_point now);

  // The user's epoch and latest offset (0: nothing published in this
  // epoch). Starts a stream (a new epoch at offset 0) for a user unknown here.
  struct position {
    std::string epoch;
    std::uint64_t offset = 0;
  };
  position at(const std::string& user, time_point now);

  // What a socket resuming after `offset` in `epoch` can be sent: the kept
  // records above `offset`, oldest first, and whether they are all of them
  // (same epoch, and the history reaches back to offset + 1, or offset is
  // the latest). Pointers are valid until the next non-const call.
  struct since_result {
    std::vector<const record*> records;
    bool complete = false;
  };
  since_result since(const std::string& user, std::string_view epoch, std::uint64_t offset) const;

  // A socket of `user` opened / closed on this shard: a user with a socket
  // keeps its epoch however old its last publish is. Counted on the user's
  // stream if it has one (else sockets_of counts them when one is made):
  // call pin after the socket is counted by sockets_of, unpin before it is
  // no longer.
  void pin(const std::string& user, time_point now);
  void unpin(const std::string& user, time_point now);

  // Drops records older than the ttl, and streams with no socket, no record
  // and no publish within the ttl. Call now and then (the shard's sweep).
  void expire(time_point now);

  std::size_t bytes() const noexcept { return bytes_; }
  std::size_t records() const noexcept { return records_; }
  std::size_t streams() const noexcept { return streams_.size(); }

 private:
  struct stream {
    std::string user;
    std::string epoch;
    std::uint64_t latest = 0;
    // Consecutive offsets, oldest first. A ring in one array (a deque would
    // cost 512 bytes per user at its first record; a vector's erase at the
    // front moved per_user records on every publish of a full history).
    core::ring<record> kept;
    std::size_t sockets = 0;
    time_point touched;  // last publish (or creation)
  };
  using stream_map = std::unordered_map<std::string, stream>;

  // Memory a record is charged: the envelope (its strings, and about the
  // text's size again for the parsed payload kept for matching), plus
  // bookkeeping; a stream: its strings and the map, set and vector nodes.
  static std::size_t cost(const record& r) noexcept;
  static std::size_t cost(const stream& s) noexcept;
  stream& get(const std::string& user, time_point now);
  void drop_front(stream& s);
  // Keeps idle_ in step: a stream with no socket and no record is idle.
  void update_idle(stream& s, bool was_idle);
  static bool idle(const stream& s) noexcept { return s.sockets == 0 && s.kept.empty(); }
  void forget(stream& s);
  void enforce_budget();

  history_limits limits_;
  std::function<std::string()> new_epoch_;
  socket_count sockets_of_;
  stream_map streams_;  // node-based: pointers to values stay valid
  // Every stream with records, by the time of its oldest one: the budget and
  // the ttl take records oldest first across users.
  std::set<std::pair<time_point, stream*>> oldest_;
  // Streams with no socket and no record, by their last publish: forgotten
  // after the ttl, or sooner when the budget needs their memory.
  std::set<std::pair<time_point, stream*>> idle_;
  std::size_t bytes_ = 0;
  std::size_t records_ = 0;
};

}  // namespace hf::recovery
