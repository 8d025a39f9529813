// The seam between "a publish was accepted" and "deliver it to the user's
// sockets and collect the acks". The HTTP side talks only to a broker; the
// in-process implementation hands the envelope to this node's hub, and a
// cross-node implementation (Redis, later) also fans it out to other nodes
// and merges their answers, without touching delivery itself.
#pragma once

#include <memory>

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
};

}  // namespace hf::broker
