// Section 15: a publish to many users gathers its users' answers in their
// order, under one result budget.
#include "ack/users_tally.hpp"

#include <gtest/gtest.h>

using namespace hf;
using protocol::receipt;
using protocol::receipt_state;

namespace {
std::vector<protocol::user_answer> users(std::initializer_list<std::string_view> ids) {
  std::vector<protocol::user_answer> out;
  for (auto id : ids) out.push_back({.user_id = id, .envelope_id = id});
  return out;
}
hub::delivery_result answer(std::size_t count, std::vector<std::string> results,
                            std::size_t dropped = 0) {
  hub::delivery_result r;
  r.client_count = count;
  r.results = std::move(results);
  r.dropped = dropped;
  return r;
}
}  // namespace

TEST(UsersTally, AnswersInAnyOrderLandInTheUsersOrder) {
  ack::users_tally t(users({"a", "b", "c"}), 1 << 20);
  EXPECT_EQ(t.waiting(), 3u);
  EXPECT_FALSE(t.add(2, answer(1, {"3"})));
  EXPECT_FALSE(t.add(0, answer(2, {"1", "11"}, 1)));
  EXPECT_FALSE(t.add(0, answer(9, {"ignored"})));  // a second answer for a user
  EXPECT_FALSE(t.add(7, answer(9, {})));           // no such user
  EXPECT_TRUE(t.add(1, answer(0, {})));
  EXPECT_EQ(t.waiting(), 0u);
  EXPECT_EQ(t.client_count(), 3u);
  EXPECT_EQ(t.dropped(), 1u);
  EXPECT_EQ(t.users()[0].results, (std::vector<std::string>{"1", "11"}));
  EXPECT_EQ(t.users()[0].client_count, 2u);
  EXPECT_EQ(t.users()[1].results, std::vector<std::string>{});
  EXPECT_EQ(t.users()[2].results, std::vector<std::string>{"3"});
  EXPECT_EQ(serialize_users_answer(t.users(), false),
            R"({"clientCount":3,"results":[1,11,3],"users":{)"
            R"("a":{"clientCount":2,"results":[1,11],"resultsDropped":1,"envelopeId":"a"},)"
            R"("b":{"clientCount":0,"results":[],"envelopeId":"b"},)"
            R"("c":{"clientCount":1,"results":[3],"envelopeId":"c"}},"resultsDropped":1})");
}

TEST(UsersTally, OneResultBudgetForTheWholeRequestInArrivalOrder) {
  // 10 bytes: "aaaa" and "bbbb" cost 5 each with their commas.
  ack::users_tally t(users({"a", "b", "c"}), 10);
  t.add(1, answer(2, {"bbbb", "xx"}));  // first to arrive: both fit (8 bytes)
  t.add(0, answer(2, {"aaaa", "y"}));   // "aaaa" does not fit the 2 left; "y" does
  t.add(2, answer(1, {"z"}));           // nothing left
  EXPECT_EQ(t.users()[1].results, (std::vector<std::string>{"bbbb", "xx"}));
  EXPECT_EQ(t.users()[0].results, std::vector<std::string>{"y"});
  EXPECT_EQ(t.users()[0].dropped, 1u);
  EXPECT_EQ(t.users()[2].results, std::vector<std::string>{});
  EXPECT_EQ(t.users()[2].dropped, 1u);
  EXPECT_EQ(t.dropped(), 2u);
}

TEST(UsersTally, AResultLeftOutLeavesItsReceiptWithoutResult) {
  ack::users_tally t(users({"a"}), 6);
  auto r = answer(3, {R"("one")", R"("two")"});
  r.receipts = {{"p", receipt_state::acked, std::nullopt, 1},  // dropped by the shard already
                {"q", receipt_state::acked, R"("one")", 2},
                {"r", receipt_state::acked, R"("two")", 3},
                {"s", receipt_state::pending, std::nullopt, 0}};
  r.dropped = 1;
  EXPECT_TRUE(t.add(0, std::move(r)));
  const auto& u = t.users()[0];
  EXPECT_EQ(u.results, std::vector<std::string>{R"("one")"});
  EXPECT_EQ(u.dropped, 2u);
  ASSERT_EQ(u.devices.size(), 4u);
  EXPECT_FALSE(u.devices[0].result);
  EXPECT_EQ(u.devices[1].result, R"("one")");
  EXPECT_FALSE(u.devices[2].result);
  EXPECT_EQ(u.devices[2].state, receipt_state::acked);
}

TEST(UsersTally, TheWorstDegradationWins) {
  ack::users_tally t(users({"a", "b", "c"}), 1 << 20);
  auto partial = answer(0, {});
  partial.degraded = metrics::degradation::partial;
  auto local = answer(0, {});
  local.degraded = metrics::degradation::local_only;
  t.add(0, answer(0, {}));
  EXPECT_FALSE(t.degraded());
  t.add(1, std::move(partial));
  t.add(2, std::move(local));
  EXPECT_EQ(t.degraded(), metrics::degradation::partial);
}
