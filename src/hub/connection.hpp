// A WebSocket as the hub sees it: something that takes text frames and can be
// closed. The hub's own bookkeeping for each socket (id, user, filters) is
// private to the shard.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "hub/stream_source.hpp"
#include "metrics/metrics.hpp"
#include "protocol/filter.hpp"
#include "recovery/merge.hpp"

namespace hf::hub {

// Envelope text shared by every socket it is queued on: serialised once.
using shared_text = std::shared_ptr<const std::string>;

// What send_text did with a frame (as uWebSockets' WebSocket::send reports).
enum class send_status : std::uint8_t {
  sent,     // no write in flight ahead of it: written at the end of this turn
  queued,   // queued behind frames still being written; goes out after them
  dropped,  // the socket's outbound queue is over its limit: not queued, and the
            // socket is being closed as a slow consumer (1008)
  closed,   // the socket is closing or closed: not queued
};

// True when the frame will reach the peer unless the connection breaks.
constexpr bool accepted(send_status s) noexcept {
  return s == send_status::sent || s == send_status::queued;
}

struct user_state;
class shard;

// A socket that sent `recover`: its envelopes carry offsets.
struct recovering {
  recovery::cursor at;         // the epoch it was last told and its highest offset there
  bool reading = false;        // its stream is being read (cluster mode): live envelopes wait
  std::vector<numbered> held;  // the live envelopes that arrived meanwhile
  // The socket's messages that arrived meanwhile: handled after the replay,
  // in order (so a ping after the recover is answered after the recovered
  // frame).
  std::vector<std::string> waiting;
  // Bytes of `held` and `waiting` together (shard_limits::max_held_bytes).
  std::size_t held_bytes = 0;
};

class connection {
 public:
  virtual ~connection() = default;

  // Queues one text frame and says what happened to it. Never calls back into
  // the hub synchronously; a socket that fails or overflows is detached later
  // by its own session. Called only on the owning shard's thread.
  virtual send_status send_text(shared_text text) = 0;

  // Starts a server-initiated close handshake for `why` (shutdown: 1001;
  // slow_consumer: 1008). The socket stops being a target later, through a
  // posted shard::detach. Same threading as send_text.
  virtual void close(metrics::close_reason why) = 0;

  // Heartbeat sweep (every HEARTBEAT_INTERVAL_MS): a socket that received
  // nothing since the last sweep gets a ping; one that has not answered the
  // previous sweep's ping returns false (dead). Same threading as send_text.
  virtual bool heartbeat() = 0;

  // Drops the connection without a close handshake (the peer is gone) and
  // detaches it. Same threading as send_text.
  virtual void abort() = 0;

 private:
  // Owned by the shard; read and written only on its thread.
  friend class shard;
  std::uint64_t id_ = 0;        // unique within the shard, increasing
  user_state* user_ = nullptr;  // set by shard::attach, cleared by shard::detach
  // Index in the user's socket list (O(1) removal); closing_slot: retired
  // (closing, still counted). 32 bits: a user has at most
  // MAX_SOCKETS_PER_USER sockets, bounded by the open-file limit.
  std::uint32_t slot_ = 0;
  // Token lifetime (docs/protocol.md section 8): the minute (since the Unix
  // epoch: 32 bits last for 4,000 years) of the refreshes counted, and the
  // token's exp (INT64_MAX: none).
  std::int32_t refresh_minute_ = 0;
  std::int64_t expires_at_ = INT64_MAX;
  // Recovery (docs/protocol.md section 7). Before the socket's `recover`: the
  // offsets of the envelopes sent to it (so a replay does not repeat them).
  // Its tail padding holds the two small members below.
  [[no_unique_address]] recovery::sent_before_recover sent_;
  std::uint8_t refreshes_ = 0;
  bool close_requested_ = false;  // the shard asked it to close (close_some, shard::hold)
  // From the socket's `recover` on (allocated then: sockets that never ask
  // pay one pointer).
  std::unique_ptr<recovering> rec_;
  protocol::filter_set filters_;
  // Section 11: the device the socket named (null: none), and when it
  // opened (ms since the Unix epoch, UTC), for the roster.
  std::unique_ptr<const std::string> device_;
  std::int64_t since_ms_ = 0;
};

}  // namespace hf::hub
