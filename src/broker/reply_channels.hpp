// The channels one process hears node answers on, and which one a publish
// names. Pure bookkeeping on the broker's thread: the caller subscribes the
// channels it is told to and reports Redis's confirmations and losses.
//
// Every process listens on its base channel "hf:r:<node>:<incarnation>".
// On a Redis Cluster, answers travel through the shard of the user they are
// about (its master is alive: the publish went through it), so a failed
// master never cuts a node off from its answers: the process also listens
// on one reply channel per master, "hf:r:<node>:<incarnation>.<k>" with the
// smallest k whose slot that master serves, and a publish names the one on
// its user's master in its incarnation field ("<incarnation>.<k>";
// answerers of any version send to the channel that field names).
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

namespace hf::broker {

class reply_channels {
 public:
  // Reply channels one process listens on: the base one and one per Redis
  // Cluster master, a few more after map changes. Bounded.
  static constexpr std::size_t max_channels = 256;

  reply_channels(std::string node_id, std::string incarnation);

  const std::string& incarnation() const noexcept { return incarnation_; }
  const std::string& base() const noexcept { return base_; }

  // Redis is (again) connected: nothing is subscribed. Returns the base
  // channel, to subscribe.
  const std::string& reset();
  // The Redis Cluster map is `shards` masters, `shard_of(key)` the index of
  // a key's master (-1: none). Returns the channels to subscribe now.
  // Channels are added, never dropped while connected: a node has few
  // masters, and an answer may still be on its way to an older one.
  std::vector<std::string> remap(std::size_t shards,
                                 const std::function<int(std::string_view)>& shard_of);
  void confirmed(std::string_view channel);
  void unavailable(std::string_view channel);

  // The incarnation a publish names when its user lives on master `shard`:
  // that master's reply channel's once Redis confirmed it, else the base.
  const std::string& incarnation_for(int shard) const;
  // An incarnation field of this process: the base one, or "<base>.<k>".
  bool mine(std::string_view inc) const noexcept;
  // One of this process's reply channels (every user channel's message comes
  // through here: the prefix check spares them building a key).
  bool is_mine(std::string_view channel) const;

 private:
  bool add(const std::string& channel);

  struct shard_reply {
    std::string incarnation;  // "<incarnation>.<k>", empty when none was found
    std::string channel;
  };
  std::string node_id_, incarnation_, base_;
  std::vector<shard_reply> by_shard_;
  std::unordered_set<std::string> subscribed_;  // every one subscribed, the base one included
  std::unordered_set<std::string> confirmed_;   // those Redis confirmed (and not lost since)
};

}  // namespace hf::broker
