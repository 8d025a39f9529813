#include "broker/answer_collector.hpp"

#include <gtest/gtest.h>

#include <map>

using namespace hf;
using namespace std::chrono_literals;

namespace {

struct collector_fixture : ::testing::Test {
  broker::answer_collector c;
  std::chrono::steady_clock::time_point t0{};              // a fake clock: tests pass `now`
  std::vector<std::pair<int, hub::delivery_result>> done;  // (tag, result) in call order

  std::uint64_t open(std::chrono::milliseconds after, int tag) {
    std::string env = "env-" + std::to_string(tag);
    auto id = c.open(t0 + after, env,
                     [this, tag](hub::delivery_result r) { done.emplace_back(tag, std::move(r)); });
    envs[id] = env;
    return id;
  }
  std::map<std::uint64_t, std::string> envs;
  std::string env_of(std::uint64_t id) { return envs[id]; }
  void run(std::optional<broker::answer_collector::completion> x) {
    if (x) x->done(std::move(x->result));
  }
  void run(std::vector<broker::answer_collector::completion> xs) {
    for (auto& x : xs) x.done(std::move(x.result));
  }
};

}  // namespace

TEST_F(collector_fixture, CompletesWhenEveryExpectedNodeHasAnswered) {
  auto id = open(5000ms, 1);
  run(c.answer(id, env_of(id), 2, 0, {"1", "2"}));  // a fast node answers before PUBLISH's reply
  EXPECT_TRUE(done.empty());
  run(c.expect(id, 2));
  EXPECT_TRUE(done.empty());
  run(c.answer(id, env_of(id), 1, 0, {"3"}));
  ASSERT_EQ(done.size(), 1u);
  EXPECT_EQ(done[0].second.client_count, 3u);
  EXPECT_EQ(done[0].second.results, (std::vector<std::string>{"1", "2", "3"}));
  EXPECT_EQ(c.size(), 0u);
  run(c.answer(id, env_of(id), 1, 0, {"late"}));  // after the answer: ignored
  EXPECT_EQ(done.size(), 1u);
}

TEST_F(collector_fixture, AllAnswersBeforeTheCountCompletesOnTheCount) {
  auto id = open(5000ms, 1);
  run(c.answer(id, env_of(id), 1, 0, {}));
  run(c.expect(id, 1));
  ASSERT_EQ(done.size(), 1u);
  auto none = open(5000ms, 2);
  run(c.expect(none, 0));  // nobody subscribed
  ASSERT_EQ(done.size(), 2u);
  EXPECT_EQ(done[1].second.client_count, 0u);
}

TEST_F(collector_fixture, DeadlinesExpireInOrderWithWhatArrived) {
  auto a = open(300ms, 1);
  open(100ms, 2);
  open(200ms, 3);
  run(c.expect(a, 3));
  run(c.answer(a, env_of(a), 4, 0, {"x"}));
  EXPECT_EQ(c.next_deadline(), t0 + 100ms);
  run(c.expire(t0 + 99ms));
  EXPECT_TRUE(done.empty());
  run(c.expire(t0 + 200ms));
  ASSERT_EQ(done.size(), 2u);
  EXPECT_EQ(done[0].first, 2);
  EXPECT_EQ(done[1].first, 3);
  EXPECT_EQ(c.next_deadline(), t0 + 300ms);
  run(c.expire(t0 + 10s));
  ASSERT_EQ(done.size(), 3u);
  EXPECT_EQ(done[2].second.client_count, 4u);  // partial: one of three nodes
  EXPECT_EQ(done[2].second.results, std::vector<std::string>{"x"});
  EXPECT_EQ(c.next_deadline(), std::nullopt);
}

TEST_F(collector_fixture, WithdrawHandsTheCallbackBack) {
  auto id = open(100ms, 1);
  auto cb = c.withdraw(id);
  ASSERT_TRUE(cb);
  EXPECT_EQ(c.size(), 0u);
  EXPECT_EQ(c.next_deadline(), std::nullopt);
  EXPECT_FALSE(c.withdraw(id));
  run(c.expire(t0 + 1s));
  EXPECT_TRUE(done.empty());  // the caller owns it now
  (*cb)({});
  EXPECT_EQ(done.size(), 1u);
}

TEST_F(collector_fixture, ShortenBringsLateDeadlinesForwardOnly) {
  open(100ms, 1);
  open(5000ms, 2);
  open(6000ms, 3);
  c.shorten(t0 + 250ms);
  run(c.expire(t0 + 249ms));
  ASSERT_EQ(done.size(), 1u);
  run(c.expire(t0 + 250ms));
  EXPECT_EQ(done.size(), 3u);
}

TEST_F(collector_fixture, TakeAllAnswersEverythingOnce) {
  open(100ms, 1);
  open(200ms, 2);
  run(c.take_all());
  EXPECT_EQ(done.size(), 2u);
  run(c.expire(t0 + 1s));
  EXPECT_EQ(done.size(), 2u);
}

TEST_F(collector_fixture, IdsAreUnique) {
  auto a = open(1ms, 1);
  auto b = open(1ms, 2);
  EXPECT_NE(a, b);
  run(c.expire(t0 + 1s));
  EXPECT_NE(open(1ms, 3), a);
}

TEST_F(collector_fixture, AnswersNamingAnotherEnvelopeAreIgnored) {
  auto id = open(5000ms, 1);
  run(c.expect(id, 1));
  run(c.answer(id, "env-other", 1, 0, {"stray"}));  // an old answer for a reused id
  EXPECT_TRUE(done.empty());
  run(c.answer(id, "env-1", 1, 0, {"mine"}));
  ASSERT_EQ(done.size(), 1u);
  EXPECT_EQ(done[0].second.results, std::vector<std::string>{"mine"});
  EXPECT_FALSE(done[0].second.degraded);
}

TEST_F(collector_fixture, DeadlineAnswersSayWhatIsMissing) {
  auto partial = open(100ms, 1);
  run(c.expect(partial, 2));
  run(c.answer(partial, "env-1", 1, 0, {"a"}));
  auto no_count = open(100ms, 2);  // Redis never replied to the PUBLISH
  auto lost = open(100ms, 3);
  c.lost(lost);
  run(c.answer(lost, "env-3", 1, 0, {"b"}));  // this node's own part still counts
  run(c.expire(t0 + 100ms));
  ASSERT_EQ(done.size(), 3u);
  EXPECT_EQ(done[0].second.degraded, metrics::degradation::partial);
  EXPECT_EQ(done[1].second.degraded, metrics::degradation::unknown);
  EXPECT_EQ(done[2].second.degraded, metrics::degradation::unknown);
  EXPECT_EQ(done[2].second.results, std::vector<std::string>{"b"});
  (void)no_count;
}

TEST(AnswerCollector, MergedResultsStayWithinTheLimits) {
  broker::answer_collector c({8, 12});  // 8 bytes per result, 12 in all (a comma each)
  std::optional<hub::delivery_result> got;
  auto id = c.open({}, "e", [&](hub::delivery_result r) { got = std::move(r); });
  auto run = [&](std::optional<broker::answer_collector::completion> x) {
    if (x) x->done(std::move(x->result));
  };
  run(c.expect(id, 2));
  run(c.answer(id, "e", 3, 1, {"12345", "123456789"}));  // one dropped on its node already
  run(c.answer(id, "e", 2, 0, {"12345", "1"}));
  ASSERT_TRUE(got);
  EXPECT_EQ(got->client_count, 5u);
  EXPECT_EQ(got->results, (std::vector<std::string>{"12345", "12345"}));
  EXPECT_EQ(got->dropped, 3u);  // 1 from the node, 1 too large, 1 over the total
}

// Section 12 at the origin: receipts from several nodes, `until` counted
// across them.
TEST(AnswerCollector, UntilCompletesOnceEnoughAcksFromAnyNodeAndEveryNodeReported) {
  using phase = broker::wire::node_answer::phase;
  using protocol::receipt_state;
  broker::answer_collector c;
  std::optional<hub::delivery_result> got;
  auto id = c.open(std::chrono::steady_clock::time_point{} + 5s, "e",
                   [&](hub::delivery_result r) { got = std::move(r); }, {2, true, false});
  auto run = [](std::optional<broker::answer_collector::completion> x) {
    if (x) x->done(std::move(x->result));
  };
  run(c.expect(id, 2));
  // Node 1 reports two targets and both ack; node 2 has not reported yet.
  run(c.receipts(id, "e", phase::initial, 2, 0,
                 {{"a", receipt_state::pending, {}, 0}, {"b", receipt_state::pending, {}, 0}}));
  run(c.receipts(id, "e", phase::ack, 0, 0, {{"b", receipt_state::acked, "\"B\"", 30}}));
  EXPECT_FALSE(got);
  run(c.receipts(id, "e", phase::ack, 0, 0, {{"a", receipt_state::acked, "\"A\"", 20}}));
  EXPECT_FALSE(got) << "two acks, but node 2 has not reported its targets";
  run(c.receipts(id, "e", phase::initial, 1, 0, {{"x", receipt_state::pending, {}, 0}}));
  ASSERT_TRUE(got);
  EXPECT_EQ(got->why, metrics::completion::count_reached);
  EXPECT_EQ(got->client_count, 3u);
  EXPECT_EQ(got->results, (std::vector<std::string>{"\"A\"", "\"B\""}));  // by ack time
  ASSERT_EQ(got->receipts.size(), 3u);
  EXPECT_EQ(got->receipts[0].device, std::optional<std::string>("a"));
  EXPECT_EQ(got->receipts[2].state, receipt_state::pending);
  EXPECT_EQ(*got->receipts[2].device, "x");
}

TEST(AnswerCollector, UntilCountsAcksOnTwoNodes) {
  using phase = broker::wire::node_answer::phase;
  using protocol::receipt_state;
  broker::answer_collector c;
  std::optional<hub::delivery_result> got;
  auto id = c.open(std::chrono::steady_clock::time_point{} + 5s, "e",
                   [&](hub::delivery_result r) { got = std::move(r); }, {2, false, false});
  auto run = [](std::optional<broker::answer_collector::completion> x) {
    if (x) x->done(std::move(x->result));
  };
  run(c.expect(id, 2));
  run(c.receipts(id, "e", phase::initial, 1, 0, {{"a", receipt_state::pending, {}, 0}}));
  run(c.receipts(
      id, "e", phase::initial, 2, 0,
      {{"x", receipt_state::pending, {}, 0}, {std::nullopt, receipt_state::pending, {}, 0}}));
  run(c.receipts(id, "e", phase::ack, 0, 0, {{"x", receipt_state::acked, "1", 5}}));
  EXPECT_FALSE(got);
  run(c.receipts(id, "e", phase::ack, 0, 0, {{"a", receipt_state::acked, "2", 9}}));
  ASSERT_TRUE(got);
  EXPECT_EQ(got->client_count, 3u);
  EXPECT_EQ(got->results, (std::vector<std::string>{"1", "2"}));
}

TEST(AnswerCollector, FinalReceiptsFromEveryNodeCompleteAsAllDone) {
  using phase = broker::wire::node_answer::phase;
  using protocol::receipt_state;
  broker::answer_collector c;
  std::optional<hub::delivery_result> got;
  auto id = c.open(std::chrono::steady_clock::time_point{} + 5s, "e",
                   [&](hub::delivery_result r) { got = std::move(r); }, {0, true, false});
  auto run = [](std::optional<broker::answer_collector::completion> x) {
    if (x) x->done(std::move(x->result));
  };
  run(c.expect(id, 2));
  run(c.receipts(id, "e", phase::final, 2, 0,
                 {{"a", receipt_state::acked, "1", 50}, {"g", receipt_state::gone, {}, 0}}));
  EXPECT_FALSE(got);
  run(c.receipts(id, "other", phase::final, 1, 0, {}));  // another envelope: ignored
  run(c.receipts(id, "e", phase::final, 1, 0, {{"b", receipt_state::acked, "2", 10}}));
  ASSERT_TRUE(got);
  EXPECT_EQ(got->why, metrics::completion::all_done);
  EXPECT_EQ(got->results, (std::vector<std::string>{"2", "1"}));
  EXPECT_EQ(got->receipts.back().state, receipt_state::gone);
}

TEST(AnswerCollector, ADeviceOnTwoNodesInTheMomentItMovedIsListedOnce) {
  using phase = broker::wire::node_answer::phase;
  using protocol::receipt_state;
  broker::answer_collector c;
  std::optional<hub::delivery_result> got;
  auto id = c.open(std::chrono::steady_clock::time_point{} + 5s, "e",
                   [&](hub::delivery_result r) { got = std::move(r); }, {0, true, false});
  if (auto x = c.expect(id, 2)) x->done(std::move(x->result));
  if (auto x = c.receipts(
          id, "e", phase::final, 2, 0,
          {{"phone", receipt_state::gone, {}, 0}, {std::nullopt, receipt_state::acked, "1", 3}}))
    x->done(std::move(x->result));
  if (auto x = c.receipts(
          id, "e", phase::final, 2, 0,
          {{"phone", receipt_state::acked, "2", 9}, {std::nullopt, receipt_state::acked, "3", 4}}))
    x->done(std::move(x->result));
  ASSERT_TRUE(got);
  EXPECT_EQ(got->client_count, 3u);
  ASSERT_EQ(got->receipts.size(), 3u);
  EXPECT_EQ(got->receipts[2].device, std::optional<std::string>("phone"));
  EXPECT_EQ(got->receipts[2].state, receipt_state::acked);
  EXPECT_EQ(got->results, (std::vector<std::string>{"1", "3", "2"}));
}
