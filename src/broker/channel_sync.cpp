#include "broker/channel_sync.hpp"

namespace hf::broker {

channel_sync::channel_sync(redis_backend& redis, wire::names names, reply_channels& replies)
    : redis_(redis), names_(names), replies_(replies) {
  // The cluster backend reports only the last SSUBSCRIBE's confirmation.
  table_.every_reply_reported(!names.sharded);
}

void channel_sync::listen(const std::string& channel) {
  waiting_.insert(channel);
  redis_.subscribe(channel);
}

void channel_sync::resync() {
  waiting_.clear();
  listen(replies_.reset());
  remapped();
  for (const auto& user : table_.users()) listen(names_.user_channel(user));
}

void channel_sync::remapped() {
  for (const auto& channel : replies_.remap(
           redis_.shards(), [this](std::string_view key) { return redis_.shard_of(key); }))
    listen(channel);
}

std::vector<channel_sync::ready_fn> channel_sync::subscribed(std::string_view channel) {
  waiting_.erase(std::string(channel));
  if (replies_.is_mine(channel)) {
    replies_.confirmed(channel);
    return {};
  }
  if (auto user = names_.user_of_channel(channel)) return table_.confirmed(*user);
  return {};
}

std::vector<channel_sync::ready_fn> channel_sync::unavailable(std::string_view channel) {
  waiting_.erase(std::string(channel));
  if (replies_.is_mine(channel)) {
    replies_.unavailable(channel);  // publishes name another until it is back
    return {};
  }
  if (auto user = names_.user_of_channel(channel)) return table_.lost(*user);
  return {};
}

std::vector<channel_sync::ready_fn> channel_sync::lost() { return table_.lost(); }

std::optional<channel_sync::ready_fn> channel_sync::opening(const std::string& user, bool connected,
                                                            ready_fn ready) {
  switch (table_.opening(user, connected, ready)) {
    case subscription_table::action::ready:
      return ready;
    case subscription_table::action::wait:
      return std::nullopt;
    case subscription_table::action::subscribe:
      if (redis_.up()) redis_.subscribe(names_.user_channel(user));
      return std::nullopt;
  }
  return std::nullopt;
}

void channel_sync::closed(const std::string& user) {
  if (table_.closed(user) && redis_.up()) redis_.unsubscribe(names_.user_channel(user));
}

}  // namespace hf::broker
