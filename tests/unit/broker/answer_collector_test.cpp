#include "broker/answer_collector.hpp"

#include <gtest/gtest.h>

using namespace hf;
using namespace std::chrono_literals;

namespace {

struct collector_fixture : ::testing::Test {
  broker::answer_collector c;
  std::chrono::steady_clock::time_point t0{};              // a fake clock: tests pass `now`
  std::vector<std::pair<int, hub::delivery_result>> done;  // (tag, result) in call order

  std::uint64_t open(std::chrono::milliseconds after, int tag) {
    return c.open(t0 + after,
                  [this, tag](hub::delivery_result r) { done.emplace_back(tag, std::move(r)); });
  }
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
  run(c.answer(id, 2, {"1", "2"}));  // a fast node answers before PUBLISH's reply
  EXPECT_TRUE(done.empty());
  run(c.expect(id, 2));
  EXPECT_TRUE(done.empty());
  run(c.answer(id, 1, {"3"}));
  ASSERT_EQ(done.size(), 1u);
  EXPECT_EQ(done[0].second.client_count, 3u);
  EXPECT_EQ(done[0].second.results, (std::vector<std::string>{"1", "2", "3"}));
  EXPECT_EQ(c.size(), 0u);
  run(c.answer(id, 1, {"late"}));  // after the answer: ignored
  EXPECT_EQ(done.size(), 1u);
}

TEST_F(collector_fixture, AllAnswersBeforeTheCountCompletesOnTheCount) {
  auto id = open(5000ms, 1);
  run(c.answer(id, 1, {}));
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
  run(c.answer(a, 4, {"x"}));
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
