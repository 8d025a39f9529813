// Which reply channels a process listens on and names (broker/reply_channels.hpp).
#include "broker/reply_channels.hpp"

#include <gtest/gtest.h>

#include "broker/cluster_slots.hpp"
#include "broker/cluster_wire.hpp"

using namespace hf::broker;

TEST(ReplyChannels, OneRedisUsesTheBaseChannelOnly) {
  reply_channels r("node", "abc");
  EXPECT_EQ(r.reset(), wire::reply_channel("node", "abc"));
  EXPECT_TRUE(r.remap(0, [](std::string_view) { return -1; }).empty());
  EXPECT_EQ(r.incarnation_for(-1), "abc");
  EXPECT_TRUE(r.is_mine(r.base()));
  EXPECT_FALSE(r.is_mine("hf:u:abc"));
  EXPECT_TRUE(r.mine("abc"));
  EXPECT_TRUE(r.mine("abc.7"));
  EXPECT_FALSE(r.mine("abc."));
  EXPECT_FALSE(r.mine("abcd"));
  EXPECT_FALSE(r.mine("ab"));
}

TEST(ReplyChannels, ARedisClusterGetsOneChannelPerMasterNamedOnceConfirmed) {
  reply_channels r("node", "abc");
  r.reset();
  // Three masters, each a third of the slots.
  auto shard_of = [](std::string_view key) { return int(slots::key_slot(key) * 3 / 16384); };
  auto fresh = r.remap(3, shard_of);
  ASSERT_EQ(fresh.size(), 3u);
  for (const auto& ch : fresh) EXPECT_TRUE(r.is_mine(ch));
  for (int shard = 0; shard < 3; ++shard)
    EXPECT_EQ(r.incarnation_for(shard), "abc");  // unconfirmed
  for (const auto& ch : fresh) r.confirmed(ch);
  for (int shard = 0; shard < 3; ++shard) {
    const std::string& inc = r.incarnation_for(shard);
    EXPECT_TRUE(inc.starts_with("abc."));
    EXPECT_EQ(shard_of(wire::reply_channel("node", inc)), shard);  // it lives on that master
  }
  r.unavailable(fresh[0]);
  EXPECT_EQ(r.incarnation_for(shard_of(fresh[0])), "abc");  // back to the base while it is down
  EXPECT_TRUE(r.remap(3, shard_of).empty());  // the same map: nothing new to subscribe
  EXPECT_EQ(r.incarnation_for(7), "abc");     // no such master
}
