// What the cluster broker needs from Redis, whichever Redis it is: commands
// routed by the slot of their key, channel subscriptions whose confirmations
// and messages come back to one handler, and one up/down state. Two
// implementations: one Redis (broker/redis_single.hpp: REDIS_URL, PUBLISH and
// SUBSCRIBE) and a Redis Cluster (broker/redis_cluster.hpp:
// REDIS_CLUSTER_NODES, SPUBLISH and SSUBSCRIBE on the shard that owns the
// channel's slot). Everything runs on the broker's thread.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "config/redis_url.hpp"

struct redisReply;
namespace boost::asio {
class io_context;
}

namespace hf::broker {

class redis_backend {
 public:
  using reply_fn = std::function<void(redisReply*)>;
  struct handlers {
    // Connected: every link is logged in (after start, and after every
    // reconnect). Subscriptions made before are gone: make them again.
    std::function<void()> up;
    // The connection failed or was lost; a reconnect is already scheduled.
    std::function<void(const std::string& why, bool was_up)> down;
    // Redis confirmed a subscription (also after a cluster moved it).
    std::function<void(std::string_view channel)> subscribed;
    std::function<void(std::string_view channel, std::string_view payload)> message;
    // A subscription no longer holds, or cannot be made now: the part of
    // Redis that serves the channel is unreachable while the rest is up (a
    // Redis Cluster master that failed). It is made again, and confirmed
    // through `subscribed`, once that part is back.
    std::function<void(std::string_view channel)> unavailable;
    // A Redis Cluster's slot map was read again (it may have changed).
    std::function<void()> remapped;
  };

  virtual ~redis_backend() = default;
  virtual void start() = 0;
  // Closes every link and stops reconnecting; replies still waiting get nullptr.
  virtual void stop() = 0;
  virtual bool up() const noexcept = 0;
  // True on a Redis Cluster: channels are sharded (SPUBLISH, SSUBSCRIBE).
  virtual bool sharded() const noexcept = 0;
  // Sends a command whose key (or channel) is `key`; `done` gets its reply
  // once, or nullptr when the connection is lost first. False (and `done`
  // not called) when not up, or when the part of Redis that serves `key` is
  // unreachable.
  using argv_ptr = std::shared_ptr<const std::vector<std::string>>;
  virtual bool command(argv_ptr argv, std::string_view key, reply_fn done) = 0;
  bool command(std::vector<std::string> argv, std::string_view key, reply_fn done) {
    return command(std::make_shared<const std::vector<std::string>>(std::move(argv)), key,
                   std::move(done));
  }
  virtual void subscribe(const std::string& channel) = 0;
  virtual void unsubscribe(const std::string& channel) = 0;
  // For logs: where Redis is.
  virtual std::string describe() const = 0;
  // Which master of a Redis Cluster serves `key` now (an index below
  // shards()), or -1 (one Redis; or no master known). Indexes change when
  // the map does (`remapped`).
  virtual int shard_of(std::string_view key) const noexcept { return -1; }
  virtual std::size_t shards() const noexcept { return 0; }
  // Masters of a Redis Cluster that cannot be used now (0 for one Redis).
  // Safe to call from any thread.
  virtual std::size_t unreachable() const noexcept { return 0; }
};

// The backend for one Redis (`where`), or for a Redis Cluster when
// `cluster_nodes` (its seeds) is not empty. Runs on `ioc`'s thread.
std::unique_ptr<redis_backend> make_redis_backend(
    boost::asio::io_context& ioc, const config::redis_endpoint& where,
    const std::vector<config::redis_endpoint>& cluster_nodes, redis_backend::handlers on);

}  // namespace hf::broker
