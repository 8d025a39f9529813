// Every node's side of a cluster publish: a publish message on the channel
// of a user with sockets here is delivered to them through the hub (with
// the epoch and offset Redis gave it), and this node's count and results go
// back to the origin's reply channel, before the origin's deadline. A
// publish this process took itself is answered without a Redis round trip.
// Broker thread; the hub calls back on a shard thread and is posted back.
#pragma once

#include <boost/asio/io_context.hpp>
#include <string_view>

#include "broker/epoch_fence.hpp"
#include "broker/origin_waits.hpp"
#include "broker/redis_backend.hpp"
#include "broker/reply_channels.hpp"
#include "broker/store.hpp"
#include "hub/hub.hpp"

namespace hf::broker {

class node_delivery {
 public:
  node_delivery(boost::asio::io_context& ioc, const hub::hub& h, redis_backend& redis,
                const store::commands& cmds, const reply_channels& replies, origin_waits& origin,
                epoch_fence& fence)
      : ioc_(ioc),
        hub_(h),
        redis_(redis),
        cmds_(cmds),
        replies_(replies),
        origin_(origin),
        fence_(fence) {}

  // A message of a user channel (wire::decode_publish); a malformed one is
  // logged (rate-limited) and ignored, and so is one a superseded master of
  // the channel's slot wrote (broker/epoch_fence.hpp).
  void on_publish(std::string_view channel, std::string_view payload);
  // "C1 <envelopeId>" on `user`'s channel: its origin answered (section 12).
  void on_end(std::string_view user, std::string_view payload);

 private:
  void answer(const wire::publish_message& m, const std::string& envelope_id,
              hub::delivery_result res, bool reported);
  // Section 12: one receipts answer to the origin (wire::node_answer A2).
  void send(const wire::publish_message& m, wire::node_answer a);

  boost::asio::io_context& ioc_;
  const hub::hub& hub_;
  redis_backend& redis_;
  const store::commands& cmds_;
  const reply_channels& replies_;
  origin_waits& origin_;
  epoch_fence& fence_;
};

}  // namespace hf::broker
