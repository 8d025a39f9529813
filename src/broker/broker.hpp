// The seam between "a publish was accepted" and "deliver it to the user's
// sockets and collect the acks". The HTTP side talks only to a broker; the
// in-process implementation hands the envelope to this node's hub, and a
// cross-node implementation (Redis, later) also fans it out to other nodes
// and merges their answers, without touching delivery itself.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <utility>

#include "hub/shard.hpp"

namespace hf::broker {

class broker {
 public:
  virtual ~broker() = default;

  // Delivers `env` to every socket of env->user_id with a matching filter,
  // wherever it is connected, and calls `done` exactly once with the combined
  // count and results: as soon as every target has acked or gone, and no later
  // than `until` (plus scheduling delay). `done` may run on any thread and
  // must not block; callers re-post to their own executor.
  // Delivery is at most once; results arrive in ack order.
  virtual void publish(std::shared_ptr<const protocol::envelope> env, hub::deadline until,
                       hub::delivery_callback done) = 0;

  // A socket of `user` is about to open on this node. Returns true when
  // publishes from any node will already find it; otherwise returns false and
  // calls `ready` later, on any thread, once they will (a cluster broker
  // waits for its subscription to be confirmed, so that a client's ping/pong
  // barrier holds cluster-wide). Every call is matched by one socket_closed.
  virtual bool socket_opening(const std::string& user, std::function<void()> ready) { return true; }
  virtual void socket_closed(const std::string& user) {}

  // Shutdown: answer every publish this node took with what it has now,
  // instead of waiting for other nodes. Any thread.
  virtual void drain() {}

  // For /readyz and /metrics: -1 not a cluster broker, 0 disconnected, 1 connected.
  virtual int cluster_state() const { return -1; }
  // Round trips of PUBLISH to the cluster broker so far: total seconds, count.
  virtual std::pair<double, std::uint64_t> cluster_rtt() const { return {0, 0}; }
};

}  // namespace hf::broker
