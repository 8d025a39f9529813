// One WebSocket of an authenticated user, living on the thread of the shard
// that owns the user: the read loop, the bounded write queue, pings, and the
// close handshake. The protocol itself (frames, handshake) is in the pure
// ws/frame and ws/handshake modules. A session gets its worker's
// session_context, not the worker.
#pragma once

#include <atomic>
#include <cstddef>

#include "ws/handshake.hpp"

namespace boost::asio {
class io_context;
}

namespace hf::config {
struct config;
}
namespace hf::hub {
class shard;
}
namespace hf::broker {
class presence;
}
namespace hf::metrics {
struct counters;
}
namespace hf::net {
class ready_set;
}

namespace hf::ws {

// The configuration a WebSocket session reads (see config::config).
struct limits {
  std::size_t max_message_bytes;      // one message: 1009 above
  std::size_t max_queued_bytes;       // outbound per socket: then "slow consumer"
  std::size_t max_queued_messages;    // outbound frames per socket: same
  std::size_t compression_min_bytes;  // smaller envelopes go uncompressed
  std::size_t max_sockets_per_user;   // 429 to further upgrades
};
limits limits_of(const config::config& cfg);

// What the WebSocket sessions of one worker thread use. Built by app/, one
// per worker; everything in it outlives the worker's sessions. Used on that
// worker's thread only, except the process-wide atomics.
struct session_context {
  boost::asio::io_context& ioc;       // the worker's: its sessions run on it
  net::ready_set& ready;              // the worker's: where its sockets wait for events
  limits cfg;                         // copied at start-up
  hub::shard& shard;                  // the worker's shard: where its sockets attach
  metrics::counters& metrics;         // the worker's counters
  broker::presence& presence;         // where sockets announce themselves (cluster subscription)
  const std::atomic<bool>& stopping;  // shutdown began: a socket opening now closes with 1001
  std::atomic<long>& live_sessions;   // open connections of the process (the drain waits for 0)
};

// Completes the WebSocket handshake on the connected socket `fd` (released
// from any io_context; the session owns it now) and attaches it to c's
// shard as up.user_id. Call on c's thread.
void start_session(session_context& c, int fd, upgrade up);

// Once per heartbeat sweep, on the worker's thread: the worker's spare write
// queues that it has not needed since the last sweep are freed (ws::outbox).
void after_heartbeat_sweep() noexcept;

}  // namespace hf::ws
