// Reads of users' streams in Redis for sockets that recover (docs/protocol.md
// section 7), through the read script (broker/store.hpp), gated by
// broker/read_gate.hpp: a few at once, the rest in turn, a bounded share
// per user. Each read's `done` runs exactly once, on the broker's thread:
// with the stream, or not ok (refused, Redis unreachable, a malformed
// reply), which the socket is told as recovered:false.
#pragma once

#include <deque>
#include <functional>
#include <optional>
#include <string>

#include "broker/epoch_fence.hpp"
#include "broker/read_gate.hpp"
#include "broker/redis_backend.hpp"
#include "broker/store.hpp"

namespace hf::broker {

class stream_reads {
 public:
  using done_fn = std::function<void(recovery::stream_view)>;
  stream_reads(redis_backend& redis, const store::commands& cmds, epoch_fence& fence,
               std::function<std::string()> new_epoch)
      : redis_(redis), cmds_(cmds), fence_(fence), new_epoch_(std::move(new_epoch)) {}

  // Broker thread, while Redis is up.
  void read(const std::string& user, std::optional<recovery::stream_position> after, done_fn done);
  // Redis was lost: the waiting reads are answered not ok now (running
  // ones get their nullptr replies from the backend).
  void redis_lost();

 private:
  struct pending {
    std::string user;
    std::optional<recovery::stream_position> after;
    done_fn done;
  };
  // Sends `p`'s script; false (and p.done answered not ok) when it could
  // not be sent.
  bool start(pending p);
  // A running read ended: starts waiting ones while the gate lets them.
  void finished();

  redis_backend& redis_;
  const store::commands& cmds_;
  epoch_fence& fence_;  // a read a superseded master answered is not ok
  std::function<std::string()> new_epoch_;
  read_gate gate_;
  std::deque<pending> waiting_;  // at most read_gate::max_waiting
};

}  // namespace hf::broker
