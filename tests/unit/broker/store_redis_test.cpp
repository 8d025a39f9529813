// The store's scripts (broker/lua/*.lua) run in a real redis-server,
// started on a free loopback port for this test and stopped after it: the
// bytes the publish script writes are read back by wire::decode_publish,
// and the read script's reply by store::read_stream, so the unit-tested
// readers are tested against what production receives.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <hiredis/hiredis.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "broker/cluster_wire.hpp"
#include "broker/store.hpp"
#include "broker/webhook_store.hpp"

extern char** environ;

using namespace hf::broker;
using namespace std::chrono_literals;

namespace {

int free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(fd);
  return ntohs(a.sin_port);
}

struct reply_deleter {
  void operator()(redisReply* r) const { freeReplyObject(r); }
};
using reply_ptr = std::unique_ptr<redisReply, reply_deleter>;

struct redis_fixture : ::testing::Test {
  pid_t pid = -1;
  int port = 0;
  redisContext* cmd = nullptr;
  redisContext* sub = nullptr;

  void SetUp() override {
    port = free_port();
    std::string p = std::to_string(port);
    std::vector<std::string> args = {
        "redis-server", "--port", p, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"};
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    ASSERT_EQ(posix_spawnp(&pid, "redis-server", &fa, nullptr, argv.data(), environ), 0)
        << "redis-server is needed (scripts/setup.sh installs it)";
    posix_spawn_file_actions_destroy(&fa);
    for (int i = 0; i < 100 && !cmd; ++i) {
      redisContext* c = redisConnect("127.0.0.1", port);
      if (c && !c->err) {
        reply_ptr pong(static_cast<redisReply*>(redisCommand(c, "PING")));
        if (pong) {
          cmd = c;
          break;
        }
      }
      if (c) redisFree(c);
      std::this_thread::sleep_for(50ms);
    }
    ASSERT_NE(cmd, nullptr) << "redis-server did not answer on port " << port;
    sub = redisConnect("127.0.0.1", port);
    ASSERT_TRUE(sub && !sub->err);
  }
  void TearDown() override {
    if (cmd) redisFree(cmd);
    if (sub) redisFree(sub);
    if (pid > 0) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, nullptr, 0);
    }
  }

  reply_ptr run(redisContext* c, const std::vector<std::string>& argv) {
    std::vector<const char*> a;
    std::vector<std::size_t> l;
    for (const auto& s : argv) a.push_back(s.data()), l.push_back(s.size());
    return reply_ptr(
        static_cast<redisReply*>(redisCommandArgv(c, int(a.size()), a.data(), l.data())));
  }
  // As broker/run_script.cpp does: EVALSHA, and EVAL where Redis answers NOSCRIPT.
  reply_ptr call(const store::call& c) {
    auto r = run(cmd, c.argv());
    if (r && store::error_of(r.get()).starts_with("NOSCRIPT")) r = run(cmd, c.argv(true));
    return r;
  }
};

const std::string env_text(int n) {
  return R"({"envelopeId":"e)" + std::to_string(n) +
         R"(","type":"t","userId":"u1","payload":"a\nb"})";
}

}  // namespace

TEST_F(redis_fixture, ThePublishScriptWritesWhatTheWireDecodesAndTheReadScriptWhatTheStoreReads) {
  store::commands cmds({false}, {100, 60s, 1 << 20, 1 << 20});
  run(sub, {"SUBSCRIBE", cmds.names().user_channel("u1")});
  wire::publish_message head{"node-a", "inc", 7, 4000, {}, 0, {}};
  for (int n = 1; n <= 2; ++n) {
    auto r = call(cmds.publish("u1", wire::publish_prefix(head), env_text(n), "ep-new"));
    auto out = store::read_publish(r.get());
    ASSERT_EQ(out.kind, store::publish_outcome::counted) << store::error_of(r.get());
    EXPECT_EQ(out.receivers, 1u);
    redisReply* raw = nullptr;
    ASSERT_EQ(redisGetReply(sub, reinterpret_cast<void**>(&raw)), REDIS_OK);
    reply_ptr msg(raw);
    ASSERT_EQ(msg->type, REDIS_REPLY_ARRAY);
    if (std::string_view(msg->element[0]->str, msg->element[0]->len) == "subscribe") {
      ASSERT_EQ(redisGetReply(sub, reinterpret_cast<void**>(&raw)), REDIS_OK);
      msg.reset(raw);
    }
    std::string payload(msg->element[2]->str, msg->element[2]->len);
    auto decoded = wire::decode_publish(payload);
    ASSERT_TRUE(decoded) << payload;
    wire::publish_message want = head;
    want.epoch = "ep-new";  // Redis knew nothing of u1: the epoch the node offered
    want.offset = std::uint64_t(n);
    want.envelope = env_text(n);
    EXPECT_EQ(*decoded, want);
    EXPECT_EQ(wire::encode(want), payload);  // byte for byte what wire::encode writes
  }
  auto v = store::read_stream(
      call(cmds.read("u1", hf::recovery::stream_position{"ep-new", 0}, "unused")).get(),
      hf::recovery::stream_position{"ep-new", 0});
  ASSERT_TRUE(v.ok);
  EXPECT_EQ(v.epoch, "ep-new");
  EXPECT_EQ(v.latest, 2u);
  ASSERT_EQ(v.records.size(), 2u);
  EXPECT_EQ(v.records[1].env->text, env_text(2));
  EXPECT_TRUE(v.complete);

  // A renewal starts a new epoch with nothing kept.
  EXPECT_EQ(run(cmd, cmds.renew("u1", "ep-2").argv(true))->integer, 1);
  auto after = store::read_stream(
      call(cmds.read("u1", hf::recovery::stream_position{"ep-new", 1}, "unused")).get(),
      hf::recovery::stream_position{"ep-new", 1});
  ASSERT_TRUE(after.ok);
  EXPECT_EQ(after.epoch, "ep-2");
  EXPECT_EQ(after.latest, 0u);
  EXPECT_TRUE(after.records.empty());
  EXPECT_FALSE(after.complete);
}

TEST_F(redis_fixture, HistorySizeZeroKeepsNothingButStillNumbers) {
  store::commands cmds({false}, {0, 60s, 1 << 20, 1 << 20});
  wire::publish_message head{"n", "i", 1, 0, {}, 0, {}};
  for (int n = 1; n <= 3; ++n)
    call(cmds.publish("u2", wire::publish_prefix(head), env_text(n), "ep"));
  auto v =
      store::read_stream(call(cmds.read("u2", hf::recovery::stream_position{"ep", 1}, "x")).get(),
                         hf::recovery::stream_position{"ep", 1});
  ASSERT_TRUE(v.ok);
  EXPECT_EQ(v.latest, 3u);
  EXPECT_TRUE(v.records.empty());
  EXPECT_FALSE(v.complete);
}

TEST_F(redis_fixture, NodeIdClaimsHoldForOneProcessAndAreGivenBack) {
  store::commands cmds({false}, {1, 1s, 1, 1});
  EXPECT_EQ(store::read_claim(run(cmd, cmds.claim("n1", "inc-a").argv(true)).get()), true);
  EXPECT_EQ(store::read_claim(run(cmd, cmds.claim("n1", "inc-a").argv(true)).get()), true);
  EXPECT_EQ(store::read_claim(run(cmd, cmds.claim("n1", "inc-b").argv(true)).get()), false);
  EXPECT_EQ(run(cmd, cmds.release("n1", "inc-b").argv(true))->integer, 0);  // not its own
  EXPECT_EQ(run(cmd, cmds.release("n1", "inc-a").argv(true))->integer, 1);
  EXPECT_EQ(store::read_claim(run(cmd, cmds.claim("n1", "inc-b").argv(true)).get()), true);
}

TEST_F(redis_fixture, KeptEnvelopesAreBoundedByBytesAndReadsByTheirBudget) {
  // 10 envelopes of ~1 KB: 4 KB kept at most, reads of 2.5 KB at most.
  store::commands cmds({false}, {100, 60s, 4096, 2560});
  wire::publish_message head{"n", "i", 1, 0, {}, 0, {}};
  std::string pad(1000, 'p');
  auto env = [&](int n) {
    return R"({"envelopeId":"e)" + std::to_string(n) + R"(","type":"t","userId":"u3","payload":")" +
           pad + "\"}";
  };
  for (int n = 1; n <= 10; ++n) call(cmds.publish("u3", wire::publish_prefix(head), env(n), "ep"));
  auto xlen = run(cmd, {"XLEN", "hf:{u3}:s"});
  EXPECT_EQ(xlen->integer, 3);  // 3 x ~1,050 B fit in 4,096, 4 do not
  auto v =
      store::read_stream(call(cmds.read("u3", hf::recovery::stream_position{"ep", 7}, "x")).get(),
                         hf::recovery::stream_position{"ep", 7});
  ASSERT_TRUE(v.ok);
  EXPECT_EQ(v.latest, 10u);
  ASSERT_EQ(v.records.size(), 2u);  // 8 and 9: 10 is past the 2,560 B budget
  EXPECT_EQ(v.records[0].offset, 8u);
  EXPECT_FALSE(v.complete);  // the bound cut it: recovered:false
  // A position the budget covers is complete.
  auto w =
      store::read_stream(call(cmds.read("u3", hf::recovery::stream_position{"ep", 8}, "x")).get(),
                         hf::recovery::stream_position{"ep", 8});
  EXPECT_TRUE(w.complete);
  // Once the stream is gone (expired), its byte count starts from 0 again.
  run(cmd, {"DEL", "hf:{u3}:s"});
  call(cmds.publish("u3", wire::publish_prefix(head), env(11), "ep"));
  EXPECT_EQ(run(cmd, {"XLEN", "hf:{u3}:s"})->integer, 1);
  auto b = run(cmd, {"HGET", "hf:{u3}:m", "b"});
  EXPECT_EQ(std::stoul(std::string(b->str, b->len)), env(11).size());
}

// Section 14's outbox (broker/webhook_store.hpp) in a real Redis: the keep
// script hands each entry to the node that added it, a held entry is not
// adopted, one left alone is, and a forgotten one is gone.
TEST_F(redis_fixture, TheWebhookOutboxKeepsHoldsAdoptsAndForgets) {
  namespace ws = webhook_store;
  std::string a = ws::consumer_name("node-a", "i1"), b = ws::consumer_name("node-b", "i2");
  std::vector<std::string> refs;
  for (int n = 0; n < 3; ++n) {
    stored_event e{"", "id-" + std::to_string(n), R"({"n":)" + std::to_string(n) + "}", 1000 + n};
    auto r = call(ws::keep(a, e));
    auto k = ws::read_kept(r.get());
    ASSERT_TRUE(k.ref) << store::error_of(r.get());
    EXPECT_TRUE(k.found.empty()) << "only its own entry, which is not listed as found";
    refs.push_back(*k.ref);
  }
  auto pending = run(cmd, {"XPENDING", std::string(ws::stream_key), std::string(ws::group)});
  ASSERT_EQ(pending->type, REDIS_REPLY_ARRAY);
  EXPECT_EQ(pending->element[0]->integer, 3);
  // Idle for 0 ms is enough for a test: b adopts with min idle 200 ms after
  // a held the first entry again 300 ms later.
  std::this_thread::sleep_for(300ms);
  auto held = ws::read_held(run(cmd, ws::hold(a, {refs[0], "1-1"})).get());
  ASSERT_TRUE(held);
  EXPECT_EQ(*held, std::vector<std::string>{refs[0]}) << "an entry the outbox lost is not held";
  auto got = ws::read_adopted(run(cmd, ws::adopt(b, 200ms, "0-0", 100)).get());
  ASSERT_TRUE(got);
  ASSERT_EQ(got->events.size(), 2u);
  EXPECT_EQ(got->events[0].ref, refs[1]);
  EXPECT_EQ(got->events[0].id, "id-1");
  EXPECT_EQ(got->events[0].body, R"({"n":1})");
  EXPECT_EQ(got->events[0].made_ms, 1001);
  EXPECT_EQ(got->events[1].id, "id-2");
  EXPECT_EQ(got->cursor, "0-0");
  // Forgotten: acknowledged and deleted, so nobody adopts it again.
  run(cmd, ws::forget_ack({refs[0], refs[1], refs[2]}));
  run(cmd, ws::forget_del({refs[0], refs[1], refs[2]}));
  std::this_thread::sleep_for(250ms);
  auto none = ws::read_adopted(run(cmd, ws::adopt(b, 200ms, "0-0", 100)).get());
  ASSERT_TRUE(none);
  EXPECT_TRUE(none->events.empty());
  EXPECT_EQ(run(cmd, {"XLEN", std::string(ws::stream_key)})->integer, 0);
}

// The stream was there without the group (Redis lost it, or it was
// deleted by hand): the keep script makes the group after the entries
// already there, and still hands over exactly the new entry.
TEST_F(redis_fixture, TheWebhookKeepScriptMakesItsGroupWhenMissing) {
  namespace ws = webhook_store;
  run(cmd, {"XADD", std::string(ws::stream_key), "*", "i", "stray", "b", "{}", "t", "1"});
  auto k = ws::read_kept(call(ws::keep("n:1", {"", "id-x", "{}", 5})).get());
  ASSERT_TRUE(k.ref);
  EXPECT_TRUE(k.found.empty());
  auto pending = run(cmd, {"XPENDING", std::string(ws::stream_key), std::string(ws::group)});
  EXPECT_EQ(pending->element[0]->integer, 1);
}
