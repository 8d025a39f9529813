// The channels this node listens on, and what waits for them: the node is
// ready only once Redis has confirmed every channel it subscribed while
// syncing (its reply channels and the channel of every user with a socket
// here), and a socket opens once its user's channel is confirmed (so that a
// client's ping/pong barrier holds cluster-wide). Runs on the broker's
// thread; sends SUBSCRIBE/UNSUBSCRIBE through the backend, and hands the
// sockets' ready callbacks back to the caller to run.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "broker/cluster_wire.hpp"
#include "broker/redis_backend.hpp"
#include "broker/reply_channels.hpp"
#include "broker/subscription_table.hpp"

namespace hf::broker {

class channel_sync {
 public:
  using ready_fn = std::function<void()>;
  channel_sync(redis_backend& redis, wire::names names, reply_channels& replies);

  // Redis is (again) connected: subscribes the reply channels and every
  // present user's channel; synced() once Redis confirmed each of them.
  void resync();
  // A Redis Cluster's map changed: a reply channel on every master.
  void remapped();
  // No channel waits for its confirmation (since the last resync()).
  bool synced() const noexcept { return waiting_.empty(); }
  // Redis confirmed `channel`: returns the sockets that can open now.
  std::vector<ready_fn> subscribed(std::string_view channel);
  // The part of Redis that serves `channel` failed (the rest is up): the
  // node does not wait for it, and its user's sockets open now (delivered
  // to locally until the backend subscribes the channel again).
  std::vector<ready_fn> unavailable(std::string_view channel);
  // Redis is gone (or the broker stops): every waiting socket opens.
  std::vector<ready_fn> lost();

  // A socket of `user` opens; `connected` says whether Redis is (being)
  // connected. Returns `ready` when it can open now, else keeps it.
  std::optional<ready_fn> opening(const std::string& user, bool connected, ready_fn ready);
  void closed(const std::string& user);
  std::size_t users() const noexcept { return table_.size(); }

 private:
  void listen(const std::string& channel);

  redis_backend& redis_;
  wire::names names_;
  reply_channels& replies_;
  subscription_table table_;
  std::unordered_set<std::string> waiting_;  // channels whose SUBSCRIBE is unconfirmed
};

}  // namespace hf::broker
