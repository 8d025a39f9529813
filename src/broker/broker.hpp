// The seam between "a publish was accepted" and "deliver it to the user's
// sockets and collect the acks". The HTTP side talks only to a broker; the
// in-process implementation hands the envelope to this node's hub, and the
// cross-node one (Redis) also fans it out to other nodes and merges their
// answers, without touching delivery itself.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "broker/idempotency_keys.hpp"
#include "broker/webhook_outbox.hpp"
#include "hub/delivery.hpp"
#include "metrics/metrics.hpp"
#include "protocol/envelope.hpp"

namespace hf::broker {

// What /readyz and /metrics report about the broker.
struct broker_status {
  metrics::cluster_state state = metrics::cluster_state::standalone;
  double publish_rtt_seconds = 0;  // PUBLISH round trips to Redis so far: total
  std::uint64_t publish_rtt_count = 0;
  bool duplicate_node_id = false;  // another live process claims this NODE_ID
  // Redis Cluster: masters of the slot map this node cannot use now (their
  // slots are delivered to locally).
  std::uint64_t unreachable_masters = 0;
};

class broker {
 public:
  virtual ~broker() = default;

  // Delivers `env` to every socket of env->user_id with a matching filter,
  // wherever it is connected, and collects their acks.
  //
  // Guarantees:
  // - `done` is called exactly once, with the combined count and results;
  // - as soon as every target has acked or gone, and no later than `until`
  //   plus scheduling delay, and never later than answer_by(until);
  // - on a thread of the broker's choosing (a shard thread, or the broker's
  //   own): `done` must not block, and callers post to their own executor;
  // - each socket receives the envelope at most once; results keep ack
  //   arrival order per node, nodes in the order their answers arrive.
  // Any thread may call publish.
  virtual void publish(std::shared_ptr<const protocol::envelope> env, hub::deadline until,
                       hub::delivery_callback done) = 0;

  // The latest time a publish given `until` now will be answered by, before
  // scheduling delay (a cluster broker collects other nodes' counts for a
  // minimum time). Any thread.
  virtual hub::deadline answer_by(hub::deadline until) const { return until; }

  // Section 13: every open socket of `user` on every node, handed to `done`
  // once, on a thread of the broker's choosing, within about a second;
  // with a degradation when some node could not be asked (then this
  // node's sockets only). Any thread.
  using roster_callback =
      std::function<void(std::vector<protocol::roster_entry>, std::optional<metrics::degradation>)>;
  virtual void roster(const std::string& user, roster_callback done) = 0;

  // Section 15 (Idempotency-Key): claims `key` for a publish whose body has
  // `fingerprint`, in flight for at most `hold`; `done` once, on a thread
  // of the broker's choosing, with what was there. Any thread.
  virtual void claim_key(std::string key, std::string fingerprint, std::chrono::milliseconds hold,
                         std::function<void(key_claim)> done) = 0;
  // Keeps the answer of the publish that claimed `key` (IDEMPOTENCY_TTL_MS).
  virtual void keep_answer(std::string key, protocol::idempotency_record answered) = 0;

  // Section 14: where undelivered webhook events are shared with the other
  // nodes (cluster mode), or null (one node: they live in the sender only).
  virtual webhook_outbox* outbox() { return nullptr; }

  // Shutdown: answer every publish this node took with what it has now,
  // instead of waiting for other nodes. Any thread.
  virtual void drain() {}

  // Any thread.
  virtual broker_status status() const { return {}; }
};

// Where sockets announce themselves, so that publishes from any node find
// them.
class presence {
 public:
  virtual ~presence() = default;

  // A socket of `user` is about to open on this node. Returns true when
  // publishes from any node will already find it; otherwise returns false and
  // calls `ready` later, once, on any thread, when they will (a cluster
  // broker waits for its subscription to be confirmed, so that a client's
  // ping/pong barrier holds cluster-wide). Every call must be matched by one
  // socket_closed. Any thread.
  virtual bool socket_opening(const std::string& user, std::function<void()> ready) = 0;
  virtual void socket_closed(const std::string& user) = 0;
  // Section 11: a socket of `user` naming `device` opened here at
  // `since_ms`; other nodes close their older socket of that device (this
  // node's own shard already did). Any thread.
  virtual void device_opened(const std::string& user, const std::string& device,
                             std::int64_t since_ms) {}
};

}  // namespace hf::broker
