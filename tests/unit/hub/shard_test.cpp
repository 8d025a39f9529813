#include "hub/shard.hpp"

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <optional>

#include "core/js_json.hpp"

using namespace hf;
using namespace std::chrono_literals;

namespace {

struct fake_connection : hub::connection {
  std::vector<std::string> sent;
  std::optional<metrics::close_reason> closed_with;
  // What send_text answers: a test sets `refuse` to play a socket that is
  // closing or over its queue limit.
  std::optional<hub::send_status> refuse;
  hub::send_status send_text(hub::shared_text t) override {
    if (refuse) return *refuse;
    sent.push_back(*t);
    return hub::send_status::sent;
  }
  void close(metrics::close_reason why) override { closed_with = why; }
  bool alive = true;
  int pings = 0;
  hub::shard* owner = nullptr;
  bool heartbeat() override {
    ++pings;
    return alive;
  }
  void abort() override { owner->detach(*this); }
};

struct shard_fixture : ::testing::Test {
  boost::asio::io_context ioc;
  hub::shard shard{ioc, hub::shard_limits{1000}};
  std::optional<hub::delivery_result> answer;

  std::shared_ptr<const protocol::envelope> env(std::string user, std::string type,
                                                std::optional<std::string> payload = {}) {
    std::optional<boost::json::value> p;
    if (payload) p = *core::parse_json(*payload);
    return std::make_shared<const protocol::envelope>(
        protocol::make_envelope(type, user, std::move(p), std::chrono::system_clock::now()));
  }
  void deliver(std::shared_ptr<const protocol::envelope> e, hub::deadline until) {
    answer.reset();
    shard.deliver(std::move(e), until, [this](hub::delivery_result r) { answer = std::move(r); });
  }
  void deliver(std::shared_ptr<const protocol::envelope> e) {
    deliver(std::move(e), std::chrono::steady_clock::now() + 5s);
  }
  static std::string ack(const std::string& id, const std::string& result) {
    return R"({"type":"ack","envelopeId":")" + id + R"(","result":)" + result + "}";
  }
};

}  // namespace

TEST_F(shard_fixture, PingIsAnsweredWithPong) {
  fake_connection c;
  shard.attach(c, "u");
  shard.on_text(c, " PING ");
  EXPECT_EQ(c.sent, std::vector<std::string>{"pong"});
}

TEST_F(shard_fixture, NoTargetAnswersAtOnce) {
  fake_connection c;
  shard.attach(c, "u");
  deliver(env("u", "chat"));  // c has no filters
  ASSERT_TRUE(answer);
  EXPECT_EQ(answer->client_count, 0u);
  deliver(env("nobody", "chat"));
  ASSERT_TRUE(answer);
  EXPECT_EQ(answer->client_count, 0u);
  EXPECT_TRUE(c.sent.empty());
}

TEST_F(shard_fixture, DeliversToMatchingSocketsAndReturnsWhenAllAcked) {
  fake_connection a, b, other;
  shard.attach(a, "u");
  shard.attach(b, "u");
  shard.attach(other, "v");
  shard.on_text(a, R"({"type":"subscribe","filters":[{"type":"chat","room":"1"}]})");
  shard.on_text(b, R"({"type":"subscribe","filters":[{"type":"chat"}]})");
  shard.on_text(other, R"({"type":"subscribe","filters":[{"type":"chat"}]})");
  auto e = env("u", "chat", R"({"room":"1"})");
  deliver(e);
  EXPECT_FALSE(answer);
  ASSERT_EQ(a.sent.size(), 1u);
  EXPECT_EQ(a.sent[0], e->text);
  EXPECT_EQ(b.sent.size(), 1u);
  EXPECT_TRUE(other.sent.empty());  // other users never see it

  shard.on_text(other, ack(e->id, "\"stranger\""));  // not a target
  shard.on_text(b, ack(e->id, R"({"read":true})"));
  shard.on_text(b, ack(e->id, "\"second\""));  // second ack
  shard.on_text(a, ack("unknown-id", "1"));    // unknown id
  EXPECT_FALSE(answer);
  shard.on_text(a, R"({"type":"ack","envelopeId":")" + e->id + "\"}");  // no result -> null
  ASSERT_TRUE(answer);
  EXPECT_EQ(answer->client_count, 2u);
  EXPECT_EQ(answer->results, (std::vector<std::string>{R"({"read":true})", "null"}));
  EXPECT_EQ(shard.stats().pending_publishes, 0u);
}

TEST_F(shard_fixture, ClosingTargetStopsBeingWaitedFor) {
  fake_connection a, b;
  shard.attach(a, "u");
  shard.attach(b, "u");
  for (auto* c : {&a, &b}) shard.on_text(*c, R"({"type":"subscribe","filters":[{"type":"t"}]})");
  auto e = env("u", "t");
  deliver(e);
  shard.on_text(a, ack(e->id, "1"));
  EXPECT_FALSE(answer);
  shard.detach(b);
  ASSERT_TRUE(answer);
  EXPECT_EQ(answer->client_count, 2u);
  EXPECT_EQ(answer->results, std::vector<std::string>{"1"});
  shard.detach(b);  // idempotent
  shard.detach(a);
  EXPECT_EQ(shard.stats().users, 0u);  // a user with no sockets costs nothing
  EXPECT_EQ(shard.stats().connections, 0u);
}

TEST_F(shard_fixture, DeadlineAnswersWithWhatArrived) {
  fake_connection a, b;
  shard.attach(a, "u");
  shard.attach(b, "u");
  for (auto* c : {&a, &b}) shard.on_text(*c, R"({"type":"subscribe","filters":[{"type":"t"}]})");
  auto e = env("u", "t");
  auto start = std::chrono::steady_clock::now();
  deliver(e, start + 60ms);
  shard.on_text(b, ack(e->id, "\"b\""));
  ioc.run_for(1s);
  ASSERT_TRUE(answer);
  EXPECT_GE(std::chrono::steady_clock::now() - start, 60ms);
  EXPECT_EQ(answer->client_count, 2u);
  EXPECT_EQ(answer->results, std::vector<std::string>{"\"b\""});
  shard.on_text(a, ack(e->id, "\"late\""));  // after the answer: ignored, no crash
}

TEST_F(shard_fixture, ConcurrentPublishesAreIndependent) {
  fake_connection a;
  shard.attach(a, "u");
  shard.on_text(a, R"({"type":"subscribe","filters":[{"type":"t"}]})");
  std::optional<hub::delivery_result> first, second;
  auto e1 = env("u", "t"), e2 = env("u", "t");
  shard.deliver(e1, std::chrono::steady_clock::now() + 5s, [&](auto r) { first = std::move(r); });
  shard.deliver(e2, std::chrono::steady_clock::now() + 5s, [&](auto r) { second = std::move(r); });
  shard.on_text(a, ack(e2->id, "2"));
  EXPECT_FALSE(first);
  ASSERT_TRUE(second);
  shard.on_text(a, ack(e1->id, "1"));
  ASSERT_TRUE(first);
  EXPECT_EQ(first->results, std::vector<std::string>{"1"});
  EXPECT_EQ(second->results, std::vector<std::string>{"2"});
}

TEST_F(shard_fixture, FireAndForgetAnswersWithCountOnly) {
  fake_connection a;
  shard.attach(a, "u");
  shard.on_text(a, R"({"type":"subscribe","filters":[{"type":"t"}]})");
  deliver(env("u", "t"), std::chrono::steady_clock::now());
  ASSERT_TRUE(answer);
  EXPECT_EQ(answer->client_count, 1u);
  EXPECT_TRUE(answer->results.empty());
  EXPECT_EQ(a.sent.size(), 1u);
}

TEST_F(shard_fixture, UnsubscribeStopsDelivery) {
  fake_connection a;
  shard.attach(a, "u");
  shard.on_text(a, R"({"type":"subscribe","filters":[{"type":"t","k":"v"}]})");
  shard.on_text(a, R"({"type":"unsubscribe","filters":[{"k":"v","type":"t"}]})");
  deliver(env("u", "t", R"({"k":"v"})"));
  ASSERT_TRUE(answer);
  EXPECT_EQ(answer->client_count, 0u);
}

TEST_F(shard_fixture, HeartbeatSweepAbortsDeadSocketsAndStopsWaitingForThem) {
  fake_connection live, dead;
  live.owner = dead.owner = &shard;
  shard.attach(live, "u");
  shard.attach(dead, "u");
  for (auto* c : {&live, &dead})
    shard.on_text(*c, R"({"type":"subscribe","filters":[{"type":"t"}]})");
  auto e = env("u", "t");
  deliver(e);
  shard.on_text(live, ack(e->id, "1"));
  EXPECT_FALSE(answer);
  dead.alive = false;
  EXPECT_EQ(shard.sweep_heartbeats(), 1u);
  ASSERT_TRUE(answer);  // the dead target is no longer waited for
  EXPECT_EQ(answer->results, std::vector<std::string>{"1"});
  EXPECT_EQ(shard.stats().connections, 1u);
  EXPECT_EQ(live.pings, 1);
}

TEST_F(shard_fixture, ShutdownAnswersPendingAndClosesWith1001) {
  fake_connection a;
  shard.attach(a, "u");
  shard.on_text(a, R"({"type":"subscribe","filters":[{"type":"t"}]})");
  deliver(env("u", "t"));
  EXPECT_FALSE(answer);
  shard.shutdown();
  ASSERT_TRUE(answer);
  EXPECT_EQ(answer->client_count, 1u);
  EXPECT_EQ(a.closed_with, metrics::close_reason::shutdown);
  deliver(env("u", "t"));
  ASSERT_TRUE(answer);
  EXPECT_EQ(answer->client_count, 0u);
}

TEST_F(shard_fixture, SocketThatRefusesTheFrameIsNotATarget) {
  fake_connection ok, slow, closing;
  for (auto* c : {&ok, &slow, &closing}) {
    shard.attach(*c, "u");
    shard.on_text(*c, R"({"type":"subscribe","filters":[{"type":"t"}]})");
  }
  slow.refuse = hub::send_status::dropped;    // over its queue limit: being closed (1008)
  closing.refuse = hub::send_status::closed;  // already closing
  auto e = env("u", "t");
  deliver(e);
  EXPECT_FALSE(answer);
  shard.on_text(slow, ack(e->id, "2"));  // not a target: ignored
  EXPECT_FALSE(answer);
  shard.on_text(ok, ack(e->id, "1"));
  ASSERT_TRUE(answer);  // only `ok` was waited for
  EXPECT_EQ(answer->client_count, 1u);
  EXPECT_EQ(answer->results, std::vector<std::string>{"1"});

  ok.refuse = hub::send_status::closed;
  deliver(env("u", "t"));
  ASSERT_TRUE(answer);  // nobody accepted it: answered at once
  EXPECT_EQ(answer->client_count, 0u);
}

namespace {
boost::json::value json_of(const std::string& s) { return *core::parse_json(s); }
std::string str(const boost::json::value& v, const char* k) {
  return std::string(v.as_object().at(k).as_string());
}
}  // namespace

TEST_F(shard_fixture, RecoverReplaysWhatWasMissedThenLiveEnvelopesCarryOffsets) {
  fake_connection first;
  shard.attach(first, "u");
  shard.on_text(first, R"({"type":"subscribe","filters":[{"type":"t"}]})");
  shard.on_text(first, R"({"type":"recover"})");  // opt in, no position
  auto rec = json_of(first.sent.back());
  EXPECT_EQ(str(rec, "type"), "recovered");
  EXPECT_EQ(rec.as_object().at("offset").as_int64(), 0);  // nothing published yet
  EXPECT_FALSE(rec.as_object().at("recovered").as_bool());
  std::string epoch = str(rec, "epoch");
  deliver(env("u", "t"), std::chrono::steady_clock::now());
  auto live = json_of(first.sent.back());
  EXPECT_EQ(live.as_object().at("offset").as_int64(), 1);
  shard.detach(first);  // the client drops; three publishes while it is away
  deliver(env("u", "t"), std::chrono::steady_clock::now());
  deliver(env("u", "other"), std::chrono::steady_clock::now());
  deliver(env("u", "t"), std::chrono::steady_clock::now());

  fake_connection again;
  shard.attach(again, "u");
  shard.on_text(again, R"({"type":"subscribe","filters":[{"type":"t"}]})");
  shard.on_text(again, R"({"type":"recover","epoch":")" + epoch + R"(","offset":1})");
  ASSERT_EQ(again.sent.size(), 3u);  // offsets 2 and 4 (3 does not match), then the frame
  EXPECT_EQ(json_of(again.sent[0]).as_object().at("offset").as_int64(), 2);
  EXPECT_EQ(json_of(again.sent[1]).as_object().at("offset").as_int64(), 4);
  auto done = json_of(again.sent[2]);
  EXPECT_EQ(str(done, "type"), "recovered");
  EXPECT_EQ(str(done, "epoch"), epoch);
  EXPECT_EQ(done.as_object().at("offset").as_int64(), 4);
  EXPECT_TRUE(done.as_object().at("recovered").as_bool());
  shard.on_text(again, R"({"type":"recover","epoch":")" + epoch + R"(","offset":0})");
  EXPECT_EQ(again.sent.size(), 3u);  // only the first recover counts
}

TEST_F(shard_fixture, EnvelopesSentBeforeRecoverAreNotRepeatedAndUnknownPositionsAreNotRecovered) {
  fake_connection c;
  shard.attach(c, "u");
  shard.on_text(c, R"({"type":"subscribe","filters":[{"type":"t"}]})");
  deliver(env("u", "t"),
          std::chrono::steady_clock::now());  // offset 1, sent live (no offset member)
  EXPECT_EQ(json_of(c.sent.back()).as_object().count("offset"), 0u);
  fake_connection peek;
  shard.attach(peek, "u");
  shard.on_text(peek, R"({"type":"recover"})");
  std::string epoch = str(json_of(peek.sent.back()), "epoch");
  shard.on_text(c, R"({"type":"recover","epoch":")" + epoch + R"(","offset":0})");
  ASSERT_EQ(c.sent.size(), 2u);  // no replay of offset 1: it was sent already
  EXPECT_TRUE(json_of(c.sent.back()).as_object().at("recovered").as_bool());

  fake_connection stranger;
  shard.attach(stranger, "u");
  shard.on_text(stranger, R"({"type":"recover","epoch":"not-the-epoch","offset":0})");
  auto f = json_of(stranger.sent.back());
  EXPECT_FALSE(f.as_object().at("recovered").as_bool());
  EXPECT_EQ(str(f, "epoch"), epoch);
  EXPECT_EQ(stranger.sent.size(), 1u);  // nothing replayed from another epoch

  fake_connection bad;
  shard.attach(bad, "u");
  for (const char* m :
       {R"({"type":"recover","epoch":1,"offset":0})",
        R"({"type":"recover","offset":-1,"epoch":"x"})",
        R"({"type":"recover","offset":1.5,"epoch":"x"})", R"({"type":"recover","epoch":"x"})"})
    shard.on_text(bad, m);
  EXPECT_TRUE(bad.sent.empty());  // malformed: ignored, and the socket is not opted in
  shard.on_text(bad, R"({"type":"recover"})");
  EXPECT_EQ(bad.sent.size(), 1u);
}

namespace {
// A stream source that answers when the test says so (as Redis would, later).
struct fake_source final : hub::stream_source {
  std::function<void(hub::stream_view)> pending;
  std::optional<hub::stream_position> asked;
  void read_stream(const std::string&, std::optional<hub::stream_position> after,
                   std::function<void(hub::stream_view)> done) override {
    asked = after;
    pending = std::move(done);
  }
};
}  // namespace

TEST_F(shard_fixture, AReadFromTheSharedStreamHoldsLiveEnvelopesAndMessagesAndNeverRepeats) {
  fake_source source;
  shard.use_stream_source(&source);
  auto stamped = [&](std::uint64_t offset, std::string type = "t") {
    auto e = env("u", type);
    auto copy = std::make_shared<protocol::envelope>(*e);
    copy->epoch = "E";
    copy->offset = offset;
    copy->text = protocol::serialize_envelope(copy->id, copy->type, copy->user_id, "ts", nullptr);
    return std::shared_ptr<const protocol::envelope>(copy);
  };
  fake_connection c;
  shard.attach(c, "u");
  shard.on_text(c, R"({"type":"subscribe","filters":[{"type":"t"}]})");
  shard.on_text(c, R"({"type":"recover","epoch":"E","offset":10})");
  shard.on_text(c, "ping");  // after the replay, in order
  ASSERT_TRUE(source.pending);
  EXPECT_EQ(source.asked->offset, 10u);
  // While Redis is read, envelopes arrive live: 9 (the client had it from its
  // previous node), 11 and 12 (the read will report 11 as the latest).
  deliver(stamped(9), std::chrono::steady_clock::now());
  deliver(stamped(11), std::chrono::steady_clock::now());
  deliver(stamped(12), std::chrono::steady_clock::now());
  EXPECT_TRUE(c.sent.empty());
  hub::stream_view v{true, "E", 11, {{stamped(11), "E", 11}}, true};
  source.pending(std::move(v));
  ioc.restart();
  ioc.poll();  // the answer comes back to the shard's thread
  std::vector<std::string> kinds;
  for (const auto& f : c.sent) {
    if (f == "pong") {
      kinds.push_back("pong");
      continue;
    }
    auto j = json_of(f);
    kinds.push_back(j.as_object().contains("envelopeId")
                        ? "env" + std::to_string(j.as_object().at("offset").as_int64())
                        : str(j, "type") +
                              (j.as_object().at("recovered").as_bool() ? ":true" : ":false"));
  }
  EXPECT_EQ(kinds, (std::vector<std::string>{"env11", "recovered:true", "env12", "pong"}));
  // The read's answer overtook an envelope's fan-out (another connection):
  // when it arrives, it is not sent again.
  std::size_t before = c.sent.size();
  deliver(stamped(11), std::chrono::steady_clock::now());
  EXPECT_EQ(c.sent.size(), before);
  deliver(stamped(13), std::chrono::steady_clock::now());
  EXPECT_EQ(json_of(c.sent.back()).as_object().at("offset").as_int64(), 13);
  shard.detach(c);
}

TEST_F(shard_fixture, RefreshExtendsTheSocketsExpiryAndExpiredSocketsAreClosedBySweep) {
  hub::shard_limits limits;
  limits.close_expired = true;
  hub::shard s(ioc, limits);
  // Tokens by name: "u@N" is user u expiring at N; "pub" a publisher's.
  s.use_token_check([](std::string_view t) -> result<auth::principal> {
    if (t == "pub") return auth::principal{{}, INT64_MAX, true, {}};
    if (t == "bad") return errc::token_bad_signature;
    if (t == "old") return errc::token_expired;
    auto at = t.find('@');
    return auth::principal{
        std::string(t.substr(0, at)),
        at == std::string_view::npos ? INT64_MAX : std::stoll(std::string(t.substr(at + 1))),
        false,
        {}};
  });
  fake_connection a, b, forever;
  s.attach(a, "u", 100);
  s.attach(b, "u", 150);
  s.attach(forever, "v");  // a token without exp
  auto reply = [&](fake_connection& c, const std::string& msg) {
    s.on_text(c, msg);
    return c.sent.empty() ? std::string() : c.sent.back();
  };
  EXPECT_EQ(reply(a, R"({"type":"refresh","token":"u@200"})"), R"({"type":"refreshed","exp":200})");
  EXPECT_EQ(reply(a, R"({"type":"refresh","token":"w@300"})"),
            R"({"type":"refresh_failed","reason":"wrong_user"})");
  EXPECT_EQ(reply(a, R"({"type":"refresh","token":"bad"})"),
            R"({"type":"refresh_failed","reason":"invalid_token"})");
  EXPECT_EQ(reply(a, R"({"type":"refresh","token":"old"})"),
            R"({"type":"refresh_failed","reason":"expired"})");
  EXPECT_EQ(reply(a, R"({"type":"refresh","token":"u@200"})"), R"({"type":"refreshed","exp":200})");
  EXPECT_EQ(reply(a, R"({"type":"refresh","token":"u@900"})"),
            R"({"type":"refresh_failed","reason":"rate_limited"})");  // the sixth this minute
  EXPECT_EQ(reply(b, R"({"type":"refresh"})"),
            R"({"type":"refresh_failed","reason":"missing_token"})");
  EXPECT_EQ(reply(b, R"({"type":"refresh","token":"pub"})"),
            R"({"type":"refresh_failed","reason":"publisher_token"})");
  EXPECT_EQ(s.sweep_expired(99), 0u);
  EXPECT_EQ(s.sweep_expired(150), 1u);  // b: its exp has come (exp <= now)
  EXPECT_EQ(b.closed_with, metrics::close_reason::token_expired);
  EXPECT_FALSE(a.closed_with);  // refreshed to 200
  EXPECT_EQ(s.sweep_expired(10'000), 1u);
  EXPECT_EQ(a.closed_with, metrics::close_reason::token_expired);
  EXPECT_FALSE(forever.closed_with);
  EXPECT_EQ(s.sweep_expired(20'000), 0u);  // each socket is closed once
  s.detach(a);
  s.detach(b);
  s.detach(forever);
}

TEST_F(shard_fixture, WithoutCloseModeExpiryIsNotSwept) {
  fake_connection a;
  shard.attach(a, "u", 100);
  EXPECT_EQ(shard.sweep_expired(1'000'000), 0u);
  EXPECT_FALSE(a.closed_with);
}

// A read of the shared stream that takes time holds the socket's live
// envelopes and its own messages: together they stay within the socket's
// byte budget (MAX_QUEUED_BYTES, 4 MiB by default), not only under the count
// cap, or a peer could make the node hold gigabytes with a few compressed
// messages.
TEST_F(shard_fixture, WhatAReadHoldsIsBoundedByBytesAcrossHeldEnvelopesAndWaitingMessages) {
  fake_source source;
  shard.use_stream_source(&source);
  const std::string big(64 * 1024, 'x');
  // The socket's own messages while the read is under way.
  fake_connection talker;
  shard.attach(talker, "u");
  shard.on_text(talker, R"({"type":"recover"})");
  ASSERT_TRUE(source.pending);
  for (int i = 0; i < 100 && !talker.closed_with; ++i) shard.on_text(talker, big);  // 6.4 MiB
  EXPECT_EQ(talker.closed_with, metrics::close_reason::slow_consumer);
  shard.detach(talker);
  // Live envelopes for it meanwhile.
  source.pending = nullptr;
  fake_connection listener;
  shard.attach(listener, "v");
  shard.on_text(listener, R"({"type":"subscribe","filters":[{"type":"t"}]})");
  shard.on_text(listener, R"({"type":"recover"})");
  ASSERT_TRUE(source.pending);
  const std::string payload = R"({"text":")" + big + R"("})";
  for (int i = 0; i < 100 && !listener.closed_with; ++i)
    deliver(env("v", "t", payload), std::chrono::steady_clock::now());
  EXPECT_EQ(listener.closed_with, metrics::close_reason::slow_consumer);
  shard.detach(listener);
  // Both together: 40 of each (5 MiB) is over, though each half is not.
  source.pending = nullptr;
  fake_connection both;
  shard.attach(both, "w");
  shard.on_text(both, R"({"type":"subscribe","filters":[{"type":"t"}]})");
  shard.on_text(both, R"({"type":"recover"})");
  for (int i = 0; i < 40; ++i) deliver(env("w", "t", payload), std::chrono::steady_clock::now());
  EXPECT_FALSE(both.closed_with);
  for (int i = 0; i < 40; ++i) shard.on_text(both, big);
  EXPECT_EQ(both.closed_with, metrics::close_reason::slow_consumer);
  shard.detach(both);
}

// A socket that closes (its close handshake under way) is no target any
// more, but it still counts toward its user's sockets and the shard's
// connections (MAX_SOCKETS_PER_USER, hopeflow_websockets) until it is
// detached, when its file descriptor is closed.
TEST_F(shard_fixture, AClosingSocketIsNoTargetButCountsUntilDetached) {
  fake_connection a, b;
  shard.attach(a, "u");
  shard.attach(b, "u");
  for (auto* c : {&a, &b}) shard.on_text(*c, R"({"type":"subscribe","filters":[{"type":"t"}]})");
  auto e = env("u", "t");
  deliver(e);
  EXPECT_FALSE(answer);
  shard.retire(b);
  deliver(env("u", "t"), std::chrono::steady_clock::now());
  EXPECT_EQ(answer->client_count, 1u);
  shard.on_text(a, ack(e->id, "1"));  // the first publish stopped waiting for b
  ASSERT_TRUE(answer);
  EXPECT_EQ(answer->client_count, 2u);
  EXPECT_EQ(b.sent.size(), 1u);
  shard.on_text(b, "ping");  // a closing socket's messages are ignored
  EXPECT_EQ(b.sent.size(), 1u);
  EXPECT_EQ(shard.sockets_of("u"), 2u);
  EXPECT_EQ(shard.stats().connections, 2u);
  shard.retire(b);  // idempotent
  shard.detach(b);
  EXPECT_EQ(shard.sockets_of("u"), 1u);
  EXPECT_EQ(shard.stats().connections, 1u);
  shard.detach(b);  // idempotent
  shard.detach(a);
  EXPECT_EQ(shard.sockets_of("u"), 0u);
  EXPECT_EQ(shard.stats().users, 0u);
  // A user whose last socket is closing is still there until it is detached.
  fake_connection c;
  shard.attach(c, "x");
  shard.retire(c);
  EXPECT_EQ(shard.stats().users, 1u);
  EXPECT_EQ(shard.sockets_of("x"), 1u);
  shard.detach(c);
  EXPECT_EQ(shard.stats().users, 0u);
}

// MAX_FILTERS_PER_USER (default 10,000): one user's filters across all of
// its sockets on the node are bounded, so a publish to the user costs at
// most that many filter checks however many sockets it holds. A subscribe
// beyond it is refused like one beyond MAX_FILTERS_PER_SOCKET (the client
// is told; the socket stays open); unsubscribing or closing gives room back.
TEST(shard_limits, FiltersPerUserAreBoundedAcrossSockets) {
  boost::asio::io_context ioc;
  hub::shard shard{ioc, hub::shard_limits{}};
  fake_connection a, b, other;
  shard.attach(a, "u");
  shard.attach(b, "u");
  shard.attach(other, "v");
  auto subscribe = [&](fake_connection& c, int first, int count) {
    std::string m = R"({"type":"subscribe","filters":[)";
    for (int k = 0; k < count; ++k)
      m += (k ? "," : "") + std::string(R"({"type":"t)") + std::to_string(first + k) + "\"}";
    shard.on_text(c, m + "]}");
  };
  for (int i = 0; i < 100; ++i) subscribe(a, i * 50, 50);         // 5,000 on a
  for (int i = 0; i < 100; ++i) subscribe(b, 5000 + i * 50, 50);  // 5,000 on b
  for (auto* c : {&a, &b}) EXPECT_TRUE(c->sent.empty());
  subscribe(b, 20000, 2);
  ASSERT_EQ(b.sent.size(), 1u);
  EXPECT_EQ(b.sent[0], R"({"type":"filters_refused","limit":10000,"refused":2})");
  EXPECT_FALSE(b.closed_with);
  subscribe(other, 20000, 2);  // another user has its own budget
  EXPECT_TRUE(other.sent.empty());
  // Room comes back when filters go.
  shard.on_text(a, R"({"type":"unsubscribe","filters":[{"type":"t0"}]})");
  subscribe(b, 20000, 2);
  ASSERT_EQ(b.sent.size(), 2u);
  EXPECT_EQ(b.sent[1], R"({"type":"filters_refused","limit":10000,"refused":1})");
  shard.detach(a);
  subscribe(b, 30000, 50);
  EXPECT_EQ(b.sent.size(), 2u);
}
