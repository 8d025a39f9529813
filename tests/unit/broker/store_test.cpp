// The store (broker/store.hpp): the argument lists of every command a node
// sends, and the reading of Redis's replies (RESP bytes through the same
// bounded reader the links use). The scripts themselves run in a real Redis
// in store_redis_test.cpp.
#include "broker/store.hpp"

#include <gtest/gtest.h>
#include <hiredis/hiredis.h>

#include <memory>

#include "broker/lua/scripts.hpp"
#include "broker/resp_reader.hpp"

using namespace hf::broker;
using namespace std::chrono_literals;

namespace {
struct reply_deleter {
  void operator()(redisReply* r) const { freeReplyObject(r); }
};
std::unique_ptr<redisReply, reply_deleter> resp(std::string_view bytes) {
  redisReader* reader = make_bounded_reader();
  redisReaderFeed(reader, bytes.data(), bytes.size());
  void* out = nullptr;
  if (redisReaderGetReply(reader, &out) != REDIS_OK) out = nullptr;
  redisReaderFree(reader);
  return std::unique_ptr<redisReply, reply_deleter>(static_cast<redisReply*>(out));
}
std::string bulk(std::string_view s) {
  return "$" + std::to_string(s.size()) + "\r\n" + std::string(s) + "\r\n";
}
const std::string env3 = R"({"envelopeId":"e3","type":"t","userId":"u"})";
const std::string env4 = R"({"envelopeId":"e4","type":"t","userId":"u"})";
}  // namespace

TEST(Store, ScriptsAreTheEmbeddedFilesAndAreCalledBySha) {
  EXPECT_TRUE(store::publish_script().text.starts_with(lua::epoch));
  EXPECT_TRUE(store::publish_script().text.ends_with(lua::publish));
  EXPECT_TRUE(store::renew_script().text.starts_with(lua::epoch));
  EXPECT_TRUE(store::renew_script().text.ends_with(lua::renew));
  EXPECT_EQ(store::publish_script().sha.size(), 40u);
  EXPECT_NE(store::publish_script().sha, store::read_script().sha);
  // SHA-1 of a known text, as Redis computes it for SCRIPT LOAD.
  EXPECT_EQ(store::script("return 1").sha, "e0e1f9fabfc9d4800c877a703b823ac0578ff8db");
}

TEST(Store, PublishArgumentsFollowTheScriptsNamedLocals) {
  store::commands one({false}, {100, 120s, 5000, 6000});
  auto c = one.publish("u1", "P1 n i 1 5000 ", env3, "ep");
  EXPECT_EQ(c.s, &store::publish_script());
  ASSERT_EQ(c.args.size(), 12u);
  EXPECT_EQ(c.args[0], "2");
  EXPECT_EQ(c.key(), "hf:{u1}:m");
  EXPECT_EQ(c.args[2], "hf:{u1}:s");
  EXPECT_EQ(c.args[3], "hf:u:u1");  // channel
  EXPECT_EQ(c.args[4], "P1 n i 1 5000 ");
  EXPECT_EQ(c.args[5], env3);
  EXPECT_EQ(c.args[6], "ep");
  EXPECT_EQ(c.args[7], "100");
  EXPECT_EQ(c.args[8], "120000");
  EXPECT_EQ(c.args[9], "86400000");
  EXPECT_EQ(c.args[10], "0");
  EXPECT_EQ(c.args[11], "5000");  // history bytes per user
  auto argv = c.argv();
  EXPECT_EQ(argv[0], "EVALSHA");
  EXPECT_EQ(argv[1], store::publish_script().sha);
  EXPECT_EQ(argv[3], c.key());
  EXPECT_EQ(c.argv(true)[1], store::publish_script().text);

  store::commands sharded({true}, {0, 1s, 1, 1});
  auto s = sharded.publish("u1", "h", "{}", "ep");
  EXPECT_EQ(s.key(), "hf:{u:u1}:m");
  EXPECT_EQ(s.args[3], "hf:{u:u1}:c");
  EXPECT_EQ(s.args[10], "1");
}

TEST(Store, ReadRenewClaimReleaseAndAnswerArguments) {
  store::commands one({false}, {100, 120s, 5000, 6000});
  auto r = one.read("u", hf::recovery::stream_position{"ep", 7}, "new");
  EXPECT_EQ(r.args, (std::vector<std::string>{"2", "hf:{u}:m", "hf:{u}:s", "new", "86400000", "7",
                                              "ep", "0", "100", "6000"}));
  auto none = one.read("u", std::nullopt, "new");
  EXPECT_EQ(none.args[5], "");
  EXPECT_EQ(one.renew("u", "n2").args,
            (std::vector<std::string>{"2", "hf:{u}:m", "hf:{u}:s", "n2", "86400000", "0"}));
  EXPECT_EQ(one.claim("node", "inc").args,
            (std::vector<std::string>{"1", "hf:node:node", "inc", "15000"}));
  EXPECT_EQ(one.release("node", "inc").args,
            (std::vector<std::string>{"1", "hf:node:node", "inc"}));
  wire::node_answer a{"inc.3", 9, "e", 2, 0, {"1"}};
  auto argv = one.answer(a, "node", "inc.3");
  EXPECT_EQ(argv[0], "PUBLISH");
  EXPECT_EQ(argv[1], wire::reply_channel("node", "inc.3"));
  EXPECT_EQ(wire::decode_answer(argv[2]), a);
  EXPECT_EQ(store::commands({true}, {1, 1s, 1, 1}).answer(a, "node", "inc.3")[0], "SPUBLISH");
}

TEST(Store, PublishRepliesSayWhetherTheScriptRan) {
  EXPECT_EQ(store::read_publish(resp(":2\r\n").get()).kind, store::publish_outcome::counted);
  EXPECT_EQ(store::read_publish(resp(":2\r\n").get()).receivers, 2u);
  for (auto refused : {"-MOVED 3999 127.0.0.1:7001\r\n", "-NOSCRIPT No matching script\r\n",
                       "-TRYAGAIN x\r\n", "-CLUSTERDOWN x\r\n", "-READONLY x\r\n"})
    EXPECT_EQ(store::read_publish(resp(refused).get()).kind, store::publish_outcome::refused)
        << refused;
  // An error after the script started, no reply, or not a count: it may
  // have reached anyone.
  EXPECT_EQ(store::read_publish(resp("-ERR Error running script\r\n").get()).kind,
            store::publish_outcome::lost);
  EXPECT_EQ(store::read_publish(nullptr).kind, store::publish_outcome::lost);
  EXPECT_EQ(store::read_publish(resp("+OK\r\n").get()).kind, store::publish_outcome::lost);
  EXPECT_EQ(store::read_publish(resp(":-1\r\n").get()).kind, store::publish_outcome::lost);
}

TEST(Store, StreamRepliesBecomeViewsThatKnowWhetherTheyAreComplete) {
  std::string reply =
      "*6\r\n" + bulk("ep") + ":4\r\n" + bulk("0-3") + bulk(env3) + bulk("0-4") + bulk(env4);
  auto v = store::read_stream(resp(reply).get(), hf::recovery::stream_position{"ep", 2});
  ASSERT_TRUE(v.ok);
  EXPECT_EQ(v.epoch, "ep");
  EXPECT_EQ(v.latest, 4u);
  ASSERT_EQ(v.records.size(), 2u);
  EXPECT_EQ(v.records[0].offset, 3u);
  EXPECT_EQ(v.records[0].env->id, "e3");
  EXPECT_EQ(v.records[1].env->offset, 4u);
  EXPECT_TRUE(v.complete);
  // From 1 the kept envelopes do not reach back: not complete.
  EXPECT_FALSE(
      store::read_stream(resp(reply).get(), hf::recovery::stream_position{"ep", 1}).complete);
  // Another epoch: never complete.
  EXPECT_FALSE(
      store::read_stream(resp(reply).get(), hf::recovery::stream_position{"x", 2}).complete);
  // Nothing kept, position at the latest: complete.
  auto latest = store::read_stream(resp("*2\r\n" + bulk("ep") + ":4\r\n").get(),
                                   hf::recovery::stream_position{"ep", 4});
  EXPECT_TRUE(latest.ok && latest.complete);
}

TEST(Store, MalformedStreamRepliesAreNotOk) {
  for (const std::string& bad : std::vector<std::string>{
           "-ERR x\r\n", ":1\r\n", "*1\r\n" + bulk("ep"), "*2\r\n:1\r\n:1\r\n",
           "*2\r\n" + bulk("ep") + ":-1\r\n",
           "*4\r\n" + bulk("ep") + ":4\r\n" + bulk("1-3") + bulk(env3),        // not "0-<n>"
           "*4\r\n" + bulk("ep") + ":4\r\n" + bulk("0-3") + bulk("not json"),  // not an envelope
           "*6\r\n" + bulk("ep") + ":4\r\n" + bulk("0-4") + bulk(env4) + bulk("0-3") + bulk(env3)})
    EXPECT_FALSE(store::read_stream(resp(bad).get(), hf::recovery::stream_position{"ep", 2}).ok)
        << bad;
  EXPECT_FALSE(store::read_stream(nullptr, std::nullopt).ok);
}

TEST(Store, ClaimReplies) {
  EXPECT_EQ(store::read_claim(resp(":1\r\n").get()), true);
  EXPECT_EQ(store::read_claim(resp(":0\r\n").get()), false);
  EXPECT_EQ(store::read_claim(resp("-ERR x\r\n").get()), std::nullopt);
  EXPECT_EQ(store::read_claim(nullptr), std::nullopt);
}
