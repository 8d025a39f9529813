// A Redis Cluster (REDIS_CLUSTER_NODES) as the cluster broker's backend.
//
// Topology: CLUSTER SLOTS from the first seed (or known node) that answers
// with every slot covered; then two links per master (broker/resp_link.hpp):
// one for commands, one for sharded subscriptions. Up once every master's
// two links are logged in.
//
// Routing: a command goes to the master of its key's slot. MOVED updates
// that slot and resends (and schedules a refresh of the whole map); ASK
// resends once to the named node after ASKING; a redirect to a node that
// neither the map (masters and replicas) nor the seeds name is not
// followed: the map is read again and the command retried after a pause; TRYAGAIN, CLUSTERDOWN,
// MASTERDOWN and LOADING are retried after a short pause; at most
// `max_hops` of these per command, then the error is the reply.
//
// Subscriptions: SSUBSCRIBE on the master that owns the channel's slot.
// When Redis unsubscribes a channel by itself (its slot moved) or refuses a
// subscription with MOVED, the map is refreshed and that channel alone is
// subscribed again where it lives now. The map is also refreshed every
// `refresh_every` while up, and subscriptions follow it.
//
// Faults, one master at a time: when a master's link fails, only that
// master is dropped. Its replies still waiting get nullptr; commands for its
// slots are refused (command() returns false: the broker delivers locally)
// and its channels are reported `unavailable`; the rest of the cluster goes
// on. The map is read again from another master every `retry_refresh` until
// it names a reachable master for those slots (the promoted replica, after
// a failover; or the same master, after a blip), and the channels are
// subscribed there. A dropped master is not dialled again for a cooldown
// (from 100 ms doubling to 1 s, broker/backoff.hpp's steps). When no master
// is left, or before the first map, the whole backend is down (`down` runs)
// and starts again from the seeds after a backoff (the same range,
// jittered). Everything runs on the io_context's thread.
#pragma once

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <unordered_map>

#include "broker/backoff.hpp"
#include "broker/cluster_slots.hpp"
#include "broker/redis_backend.hpp"
#include "broker/resp_link.hpp"

namespace hf::broker {

class redis_cluster final : public redis_backend {
 public:
  redis_cluster(boost::asio::io_context& ioc, std::vector<slots::endpoint> seeds,
                redis_credentials login, handlers h);
  ~redis_cluster() override;

  void start() override;
  void stop() override;
  bool up() const noexcept override { return up_; }
  bool sharded() const noexcept override { return true; }
  using redis_backend::command;
  bool command(argv_ptr argv, std::string_view key, reply_fn done) override;
  void subscribe(const std::string& channel) override;
  void unsubscribe(const std::string& channel) override;
  std::string describe() const override;
  int shard_of(std::string_view key) const noexcept override {
    if (!map_) return -1;
    auto o = map_->owner(slots::key_slot(key));
    return o == slots::slot_map::none ? -1 : int(o);
  }
  std::size_t shards() const noexcept override { return map_ ? map_->masters().size() : 0; }
  std::size_t unreachable() const noexcept override {
    return unreachable_.load(std::memory_order_relaxed);
  }

 private:
  struct node {
    std::shared_ptr<resp_link> cmd, sub;
    std::uint64_t serial =
        0;  // which dialling of this address (a late failure of an older one is ignored)
  };

  void bootstrap(std::size_t candidate);
  void adopt(slots::slot_map m);
  node& link(const slots::endpoint& at);
  void maybe_up();
  void lost(const std::string& why);
  void node_lost(const std::string& key, std::uint64_t serial, const std::string& why);
  // Sends SSUBSCRIBE for `channel` on `n` (at `key`), counted in flight.
  void send_subscribe(node& n, const std::string& key, const std::string& channel);
  // The links of a master, or nullptr while it cools down after a failure.
  node* usable(const slots::endpoint& at);
  void send(argv_ptr argv, std::uint16_t slot, reply_fn done, int hops,
            std::optional<slots::endpoint> ask);
  // Sends again after retry_pause (a transient error, or a redirect not
  // followed).
  void retry_later(argv_ptr argv, std::uint16_t slot, reply_fn done, int hops);
  // A node a redirect may send this node to: one the slot map, the seeds or
  // the last map named (never an address only a reply named: this node
  // logs in there with the cluster's password).
  bool known(const slots::endpoint& at) const;
  void on_push(const std::string& node_key, std::string_view kind, std::string_view channel,
               std::string_view payload, bool requested);
  void schedule_refresh(std::chrono::milliseconds after);
  void refresh();
  // Moves subscriptions to the masters the map names now. True while some
  // slot's master or some channel waits for a usable master.
  bool follow_map();

  boost::asio::io_context& ioc_;
  std::vector<slots::endpoint> seeds_;
  std::vector<slots::endpoint> known_;  // the masters of the last map: also tried as seeds
  redis_credentials login_;
  handlers h_;
  std::optional<slots::slot_map> map_;
  std::map<std::string, node> nodes_;  // by "host:port"
  std::unordered_map<std::string, std::string>
      wanted_;  // channel -> node it is subscribed on ("": none now)
  struct cooldown {
    std::chrono::steady_clock::time_point until;
    backoff wait;  // its steps, without jitter (one node's own timing)
  };
  std::unordered_map<std::string, cooldown> cooling_;  // masters dropped after a failure
  // SSUBSCRIBEs sent and not yet answered, by node and channel ("node\nchannel"):
  // only the answer to the last one is reported `subscribed`, so an earlier
  // one's (an SUNSUBSCRIBE went after it) never opens a socket.
  std::unordered_map<std::string, std::size_t> in_flight_;
  // Channels a node refused for another reason than a redirect (an ACL, for
  // one): not asked again before this time.
  std::unordered_map<std::string, std::chrono::steady_clock::time_point> refused_;
  std::uint64_t serial_ = 0;
  // Masters of the map without both links up, recounted on every change
  // (recount()); read by any thread for the metrics.
  std::atomic<std::size_t> unreachable_{0};
  void recount();
  std::shared_ptr<resp_link> probe_;  // asks a seed for the map
  boost::asio::steady_timer retry_, refresh_timer_;
  backoff backoff_;               // the whole backend's reconnects (from the seeds)
  std::uint64_t generation_ = 0;  // bumped when going down: older links' callbacks are ignored
  bool up_ = false, stopped_ = false, refresh_armed_ = false, refreshing_ = false;
};

}  // namespace hf::broker
