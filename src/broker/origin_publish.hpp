// The origin's side of a cluster publish (docs/cluster.md), on the broker's
// thread: the publish script in Redis numbers, records and fans the
// envelope out; the nodes' answers are collected by origin_waits. When the
// user's part of Redis is unreachable, or the script is refused, the
// envelope reaches this node's sockets only, and the answer says so
// (hopeflow-degraded: local-only); the user's epoch is renewed later.
// Section 12: the publish message carries the options, and once a publish
// with `until` or `cancel` is answered, every node is told to stop waiting.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "broker/epoch_renewals.hpp"
#include "broker/origin_waits.hpp"
#include "broker/redis_backend.hpp"
#include "broker/reply_channels.hpp"
#include "broker/store.hpp"
#include "hub/hub.hpp"

namespace hf::broker {

class origin_publish {
 public:
  // The shortest time the origin waits for the nodes' answers (their
  // counts), even when the caller asked for no ack wait at all: one Redis
  // round trip each way, with room for a busy node.
  static constexpr auto min_collect = std::chrono::milliseconds(250);

  struct parts {
    const hub::hub& hub;
    redis_backend& redis;
    const store::commands& cmds;
    const reply_channels& replies;
    origin_waits& origin;
    epoch_renewals& renewals;
    const std::string& node_id;
    std::function<std::string()> new_epoch;
  };
  explicit origin_publish(parts p) : p_(std::move(p)) {}

  // `usable`: the broker is up and Redis connected.
  void publish(std::shared_ptr<const protocol::envelope> env, hub::deadline until,
               hub::delivery_callback done, bool usable);

 private:
  void degraded(std::shared_ptr<const protocol::envelope> env, hub::deadline until,
                hub::delivery_callback done);
  hub::delivery_callback ending(const protocol::envelope& env, hub::delivery_callback done);

  parts p_;
};

}  // namespace hf::broker
