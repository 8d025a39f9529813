// A WebSocket as the hub sees it: something that takes text frames and can be
// closed, plus the per-socket state the hub keeps (id, user, filters).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "protocol/filter.hpp"

namespace hf::hub {

// Envelope text shared by every socket it is queued on: serialised once.
using shared_text = std::shared_ptr<const std::string>;

struct user_state;

class connection {
 public:
  virtual ~connection() = default;

  // Queues one text frame. Never calls back into the hub synchronously; a
  // socket that fails or overflows is detached later by its own session.
  // Called only on the owning shard's thread.
  virtual void send_text(shared_text text) = 0;

  // Starts a close handshake with `code`. Same threading as send_text.
  virtual void close(std::uint16_t code, std::string_view reason) = 0;

  // Heartbeat sweep (every HEARTBEAT_INTERVAL_MS): a socket that received
  // nothing since the last sweep gets a ping; one that has not answered the
  // previous sweep's ping returns false (dead). Same threading as send_text.
  virtual bool heartbeat() = 0;

  // Drops the connection without a close handshake (the peer is gone) and
  // detaches it. Same threading as send_text.
  virtual void abort() = 0;

  // State owned by the hub; read and written only on the owning shard's thread.
  std::uint64_t id = 0;          // unique within the shard, increasing
  user_state* user = nullptr;    // set by shard::attach, cleared by shard::detach
  std::size_t slot = 0;          // index in the user's socket list (O(1) removal)
  bool close_requested = false;  // shard::close_some already asked it to close
  protocol::filter_set filters;
};

}  // namespace hf::hub
