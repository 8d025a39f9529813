#include "broker/reply_channels.hpp"

#include "broker/cluster_wire.hpp"

namespace hf::broker {

reply_channels::reply_channels(std::string node_id, std::string incarnation)
    : node_id_(std::move(node_id)),
      incarnation_(std::move(incarnation)),
      base_(wire::reply_channel(node_id_, incarnation_)) {}

const std::string& reply_channels::reset() {
  subscribed_.clear();
  confirmed_.clear();
  add(base_);
  return base_;
}

bool reply_channels::add(const std::string& channel) {
  if (subscribed_.size() >= max_channels) return false;
  return subscribed_.insert(channel).second;
}

std::vector<std::string> reply_channels::remap(
    std::size_t shards, const std::function<int(std::string_view)>& shard_of) {
  by_shard_.assign(shards, {});
  std::size_t found = 0;
  // Bounded: with n masters the k's needed are a few times n; a slot range
  // too small to be hit by 64 * 16384 tries gets no channel (answers for its
  // users use the base one).
  for (std::size_t k = 0; found < by_shard_.size() && k < 64 * 16384; ++k) {
    std::string inc = incarnation_ + "." + std::to_string(k);
    std::string channel = wire::reply_channel(node_id_, inc);
    int shard = shard_of(channel);
    if (shard < 0 || std::size_t(shard) >= by_shard_.size() ||
        !by_shard_[shard].incarnation.empty())
      continue;
    by_shard_[shard] = {std::move(inc), std::move(channel)};
    ++found;
  }
  std::vector<std::string> fresh;
  for (const auto& r : by_shard_)
    if (!r.incarnation.empty() && add(r.channel)) fresh.push_back(r.channel);
  return fresh;
}

void reply_channels::confirmed(std::string_view channel) {
  confirmed_.insert(std::string(channel));
}

void reply_channels::unavailable(std::string_view channel) {
  confirmed_.erase(std::string(channel));  // publishes name another until it is back
}

const std::string& reply_channels::incarnation_for(int shard) const {
  if (shard < 0 || std::size_t(shard) >= by_shard_.size()) return incarnation_;
  const shard_reply& r = by_shard_[shard];
  return !r.incarnation.empty() && confirmed_.count(r.channel) ? r.incarnation : incarnation_;
}

bool reply_channels::mine(std::string_view inc) const noexcept {
  return inc == incarnation_ || (inc.size() > incarnation_.size() + 1 &&
                                 inc.starts_with(incarnation_) && inc[incarnation_.size()] == '.');
}

bool reply_channels::is_mine(std::string_view channel) const {
  return channel.starts_with(wire::reply_prefix) && subscribed_.count(std::string(channel));
}

}  // namespace hf::broker
