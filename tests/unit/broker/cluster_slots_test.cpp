#include "broker/cluster_slots.hpp"

#include <gtest/gtest.h>
#include <hiredis/hiredis.h>

#include <memory>

#include "broker/cluster_wire.hpp"
#include "broker/resp_reader.hpp"

using namespace hf::broker::slots;

namespace {
// A reply as Redis would send it: RESP bytes through hiredis's own reader.
struct reply_deleter {
  void operator()(redisReply* r) const { freeReplyObject(r); }
};
std::unique_ptr<redisReply, reply_deleter> resp(std::string_view bytes) {
  redisReader* rd = hf::broker::make_bounded_reader();
  redisReaderFeed(rd, bytes.data(), bytes.size());
  void* out = nullptr;
  EXPECT_EQ(redisReaderGetReply(rd, &out), REDIS_OK);
  redisReaderFree(rd);
  return std::unique_ptr<redisReply, reply_deleter>(static_cast<redisReply*>(out));
}
std::string bulk(std::string_view s) {
  return "$" + std::to_string(s.size()) + "\r\n" + std::string(s) + "\r\n";
}
std::string range(int first, int last, std::string_view host, int port) {
  return "*3\r\n:" + std::to_string(first) + "\r\n:" + std::to_string(last) + "\r\n*3\r\n" +
         bulk(host) + ":" + std::to_string(port) + "\r\n" + bulk("0123abcd");
}
}  // namespace

TEST(ClusterSlots, Crc16IsXmodem) {
  EXPECT_EQ(crc16("123456789"), 0x31C3);  // the specification's test vector
  EXPECT_EQ(crc16(""), 0);
}

TEST(ClusterSlots, KeySlotsAgreeWithRedis) {
  // Values printed by redis-server 7's CLUSTER KEYSLOT.
  EXPECT_EQ(key_slot("foo"), 12182);
  EXPECT_EQ(key_slot("somekey"), 11058);
  EXPECT_EQ(key_slot("hf:{alice}:m"), 749);
  // Hash tags, with the specification's own examples.
  EXPECT_EQ(key_slot("{user1000}.following"), key_slot("{user1000}.followers"));
  EXPECT_EQ(key_slot("foo{}{bar}"), 8363);     // an empty tag: the whole key
  EXPECT_EQ(key_slot("foo{{bar}}zap"), 4015);  // the tag is "{bar"
  EXPECT_EQ(key_slot("foo{{bar}}zap"), key_slot("{bar"));
  EXPECT_EQ(key_slot("foo{bar}{zap}"), 5061);  // only the first tag counts
  EXPECT_EQ(key_slot("foo{bar}{zap}"), key_slot("bar"));
  EXPECT_EQ(key_slot("{"), crc16("{") % slot_count);  // no closing brace: the whole key
}

TEST(ClusterSlots, EveryNameOfOneUserSharesASlotWhateverTheUserId) {
  // A user's channel, meta and stream on a Redis Cluster: one slot, even for
  // user ids with braces in them (a plain "{<user>}" tag would be empty for
  // a user id starting with '}', and the three names would scatter).
  hf::broker::wire::names n{true};
  for (std::string user : {"alice", "a}b", "{x", "}", "{}", "}}", "a{b}c", "", "h\xc3\xa9llo"}) {
    auto s = key_slot(n.meta_key(user));
    EXPECT_EQ(key_slot(n.stream_key(user)), s) << user;
    EXPECT_EQ(key_slot(n.user_channel(user)), s) << user;
    EXPECT_EQ(n.user_of_channel(n.user_channel(user)), user);
  }
  EXPECT_EQ(n.user_channel("alice"), "hf:{u:alice}:c");
  EXPECT_EQ(n.meta_key("alice"), "hf:{u:alice}:m");
  EXPECT_NE(key_slot(n.meta_key("alice")), key_slot(n.meta_key("bob")));
  EXPECT_EQ(n.user_of_channel("hf:u:alice"), std::nullopt);
  EXPECT_EQ(n.user_of_channel("hf:{u:alice}:m"), std::nullopt);
  EXPECT_EQ(n.user_of_channel("hf:{u:}:"), std::nullopt);
  // On one Redis the names are the historical ones.
  hf::broker::wire::names single;
  EXPECT_EQ(single.user_channel("alice"), "hf:u:alice");
  EXPECT_EQ(single.meta_key("alice"), "hf:{alice}:m");
  EXPECT_EQ(single.user_of_channel("hf:u:alice"), "alice");
}

TEST(ClusterSlots, Redirects) {
  auto m = parse_redirect("MOVED 3999 127.0.0.1:6381");
  ASSERT_TRUE(m);
  EXPECT_FALSE(m->ask);
  EXPECT_EQ(m->slot, 3999);
  EXPECT_EQ(m->to, (endpoint{"127.0.0.1", 6381}));
  auto a = parse_redirect("ASK 16383 ::1:7000");
  ASSERT_TRUE(a);
  EXPECT_TRUE(a->ask);
  EXPECT_EQ(a->to, (endpoint{"::1", 7000}));
  auto unnamed = parse_redirect("MOVED 7 :6380");  // the host is the node that answered
  ASSERT_TRUE(unnamed);
  EXPECT_EQ(unnamed->to, (endpoint{"", 6380}));
  for (auto bad :
       {"MOVED", "MOVED 1", "MOVED 16384 h:1", "MOVED x h:1", "MOVED 1 h", "MOVED 1 h:0",
        "MOVED 1 h:65536", "ASK -1 h:1", "ERR wrong", "TRYAGAIN", "moved 1 h:1", "MOVED 1 h:1x"})
    EXPECT_FALSE(parse_redirect(bad)) << bad;
}

TEST(ClusterSlots, MapFromClusterSlots) {
  std::string reply = "*3\r\n" + range(0, 5460, "127.0.0.1", 7001) + range(5461, 10922, "", 7002) +
                      range(10923, 16383, "127.0.0.1", 7003);
  auto r = resp(reply);
  auto m = slot_map::from_cluster_slots(r.get(), "10.0.0.9");
  ASSERT_TRUE(m);
  EXPECT_TRUE(m->complete());
  ASSERT_EQ(m->masters().size(), 3u);
  EXPECT_EQ(*m->master_of(0), (endpoint{"127.0.0.1", 7001}));
  EXPECT_EQ(*m->master_of(5461), (endpoint{"10.0.0.9", 7002}));  // unknown host: who answered
  EXPECT_EQ(*m->master_of(16383), (endpoint{"127.0.0.1", 7003}));
  // A MOVED redirect updates one slot, to a known or a new master.
  m->moved(0, {"127.0.0.1", 7003});
  EXPECT_EQ(m->owner(0), m->owner(16383));
  m->moved(1, {"127.0.0.1", 7009});
  EXPECT_EQ(m->masters().size(), 4u);
  EXPECT_EQ(*m->master_of(1), (endpoint{"127.0.0.1", 7009}));
}

TEST(ClusterSlots, IncompleteAndMalformedMaps) {
  auto partial = resp("*1\r\n" + range(0, 100, "h", 1));
  auto m = slot_map::from_cluster_slots(partial.get(), "h");
  ASSERT_TRUE(m);
  EXPECT_FALSE(m->complete());
  EXPECT_EQ(m->master_of(101), nullptr);
  for (std::string bad :
       {std::string("+OK\r\n"), "*1\r\n" + range(5, 4, "h", 1), "*1\r\n" + range(0, 16384, "h", 1),
        "*1\r\n" + range(0, 1, "h", 0), "*1\r\n" + range(0, 1, "h", 70000),
        std::string("*1\r\n*2\r\n:0\r\n:1\r\n"), std::string("*1\r\n*3\r\n:0\r\n:1\r\n$1\r\nh\r\n"),
        std::string("*1\r\n*3\r\n$1\r\n0\r\n:1\r\n*2\r\n$1\r\nh\r\n:1\r\n")}) {
    auto r = resp(bad);
    EXPECT_FALSE(slot_map::from_cluster_slots(r.get(), "h")) << bad;
  }
  EXPECT_FALSE(slot_map::from_cluster_slots(nullptr, "h"));
}

TEST(ClusterSlots, TheReaderBoundsArrays) {
  // Replies read by the bounded reader are hiredis's own objects.
  auto ok = resp("*2\r\n$3\r\nabc\r\n*2\r\n:7\r\n$-1\r\n");
  ASSERT_TRUE(ok);
  ASSERT_EQ(ok->elements, 2u);
  EXPECT_EQ(std::string(ok->element[0]->str, ok->element[0]->len), "abc");
  EXPECT_EQ(ok->element[1]->element[0]->integer, 7);
  EXPECT_EQ(ok->element[1]->element[1]->type, REDIS_REPLY_NIL);
  // An array header beyond the bound fails the reader instead of allocating.
  redisReader* rd = hf::broker::make_bounded_reader();
  std::string huge = "*2000000000\r\n";
  redisReaderFeed(rd, huge.data(), huge.size());
  void* out = nullptr;
  EXPECT_EQ(redisReaderGetReply(rd, &out), REDIS_ERR);
  EXPECT_EQ(out, nullptr);
  redisReaderFree(rd);
}

TEST(ClusterSlots, TheMapNamesItsMastersAndReplicasOnly) {
  // One range served by 10.0.0.1:7000 with a replica on 10.0.0.2:7001, the
  // rest by 10.0.0.3:7002 without one.
  std::string replica = "*3\r\n" + bulk("10.0.0.2") + ":7001\r\n" + bulk("feed");
  std::string first =
      "*4\r\n:0\r\n:8191\r\n*3\r\n" + bulk("10.0.0.1") + ":7000\r\n" + bulk("0123abcd") + replica;
  auto r = resp("*2\r\n" + first + range(8192, 16383, "10.0.0.3", 7002));
  auto m = slot_map::from_cluster_slots(r.get(), "h");
  ASSERT_TRUE(m);
  EXPECT_EQ(m->masters().size(), 2u);  // a replica serves no slot
  EXPECT_TRUE(m->names({"10.0.0.1", 7000}));
  EXPECT_TRUE(m->names({"10.0.0.2", 7001}));  // a redirect after a failover goes there
  EXPECT_TRUE(m->names({"10.0.0.3", 7002}));
  EXPECT_FALSE(m->names({"10.0.0.2", 7000}));
  EXPECT_FALSE(m->names({"203.0.113.7", 7001}));  // only a reply names it: never followed
}
