// Section 14 in cluster mode: webhook events that are not delivered yet are
// kept in Redis, so that when the node that made them dies (kill -9) another
// node sends them. The webhook sender (net/webhook_sender.hpp) keeps every
// event it has in its own memory too and uses this only as the shared copy:
// one node without Redis has no outbox, and loses what is queued when it
// dies (docs/operations.md).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace hf::broker {

// An event as kept: `ref` names it in the outbox (a Redis stream entry id).
struct stored_event {
  std::string ref;
  std::string id;
  std::string body;
  std::int64_t made_ms = 0;  // when it was made, ms since the Unix epoch
};

// How long an event is left alone (not held) in the outbox before another
// node takes it: three missed holds (net/webhook_sender.hpp holds its events
// every 10 s).
inline constexpr std::chrono::milliseconds webhook_orphan_after{30'000};

class webhook_outbox {
 public:
  virtual ~webhook_outbox() = default;
  // Keeps `e` (its ref is ignored) as this node's. `kept` once, on any
  // thread, with its ref, or empty when it could not be kept (Redis
  // unreachable or the outbox full: the event is then in this process
  // only); and with events found unowned on the way, now this node's.
  virtual void keep(const stored_event& e,
                    std::function<void(std::string ref, std::vector<stored_event> found)> kept) = 0;
  // Delivered, or given up: gone from the outbox.
  virtual void forget(std::vector<std::string> refs) = 0;
  // Still this node's: other nodes do not take these before they were left
  // alone for orphan_after. `held` once, on any thread, with those of `refs`
  // the outbox still has (the others are gone: Redis restarted empty, or
  // lost them in a failover; they are kept again), or nullopt when it could
  // not be asked.
  virtual void hold(std::vector<std::string> refs,
                    std::function<void(std::optional<std::vector<std::string>>)> held) = 0;
  // Events that their node left alone for orphan_after (it died, or froze):
  // now this node's. `done` once, on any thread.
  virtual void adopt(std::function<void(std::vector<stored_event>)> done) = 0;
};

}  // namespace hf::broker
