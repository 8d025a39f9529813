#include "ack/ack_collector.hpp"

#include <gtest/gtest.h>

using hf::ack::ack_collector;

TEST(AckCollector, ResultsInArrivalOrderCompleteWhenAllAcked) {
  ack_collector c({3, 1, 2});
  EXPECT_EQ(c.client_count(), 3u);
  EXPECT_TRUE(c.on_ack(2, "\"b\""));
  EXPECT_TRUE(c.on_ack(1, "\"a\""));
  EXPECT_FALSE(c.complete());
  EXPECT_TRUE(c.on_ack(3, "null"));
  EXPECT_TRUE(c.complete());
  EXPECT_EQ(c.results(), (std::vector<std::string>{"\"b\"", "\"a\"", "null"}));
}

TEST(AckCollector, IgnoresStrangersAndSecondAcks) {
  ack_collector c({1, 2});
  EXPECT_FALSE(c.on_ack(9, "x"));
  EXPECT_TRUE(c.on_ack(1, "1"));
  EXPECT_FALSE(c.on_ack(1, "again"));
  EXPECT_EQ(c.results().size(), 1u);
  EXPECT_EQ(c.outstanding(), 1u);
}

TEST(AckCollector, GoneTargetsStopBeingWaitedFor) {
  ack_collector c({1, 2, 3});
  EXPECT_TRUE(c.on_ack(1, "1"));
  EXPECT_FALSE(c.on_gone(1));  // already acked: nothing changes
  EXPECT_TRUE(c.on_gone(2));
  EXPECT_FALSE(c.on_gone(2));
  EXPECT_FALSE(c.on_ack(2, "late"));  // gone, then an ack: ignored
  EXPECT_FALSE(c.complete());
  EXPECT_TRUE(c.on_gone(3));
  EXPECT_TRUE(c.complete());
  EXPECT_EQ(c.client_count(), 3u);  // clientCount still counts every target
  EXPECT_EQ(c.results(), std::vector<std::string>{"1"});
}

TEST(AckCollector, LargeFanOut) {
  std::vector<std::uint64_t> targets;
  for (std::uint64_t i = 0; i < 10000; ++i) targets.push_back(i * 7);
  ack_collector c(targets);
  for (std::uint64_t i = 0; i < 10000; ++i) EXPECT_TRUE(c.on_ack(i * 7, "0"));
  EXPECT_TRUE(c.complete());
}

TEST(AckCollector, ResultsBeyondTheLimitsAreCountedNotKept) {
  ack_collector c({1, 2, 3, 4}, {4, 8});  // 4 bytes per result, 8 in all (a comma each)
  EXPECT_TRUE(c.on_ack(1, "123"));
  EXPECT_TRUE(c.on_ack(2, "12345"));  // recorded (the socket acked), result too large
  EXPECT_TRUE(c.on_ack(3, "123"));
  EXPECT_TRUE(c.on_ack(4, "1"));  // over the total
  EXPECT_TRUE(c.complete());
  EXPECT_EQ(c.results(), (std::vector<std::string>{"123", "123"}));
  EXPECT_EQ(c.dropped(), 2u);
}

// Section 12: receipts, `until` and the targets a cancel goes to.
TEST(AckCollector, ReceiptsListAckedInAckOrderThenPendingThenGone) {
  using hf::protocol::receipt_state;
  ack_collector c({{4, "phone"}, {2, std::nullopt}, {9, "watch"}, {7, "tv"}}, {}, 0);
  EXPECT_TRUE(c.on_ack(9, "\"w\"", 30));
  EXPECT_TRUE(c.on_gone(7));
  EXPECT_TRUE(c.on_ack(2, "null", 45));
  auto r = c.receipts();
  ASSERT_EQ(r.size(), 4u);
  EXPECT_EQ(r[0].device, std::optional<std::string>("watch"));
  EXPECT_EQ(r[0].state, receipt_state::acked);
  EXPECT_EQ(r[0].result, std::optional<std::string>("\"w\""));
  EXPECT_EQ(r[0].ack_ms, 30);
  EXPECT_EQ(r[1].device, std::nullopt);
  EXPECT_EQ(r[1].ack_ms, 45);
  EXPECT_EQ(r[2].device, std::optional<std::string>("phone"));
  EXPECT_EQ(r[2].state, receipt_state::pending);
  EXPECT_EQ(r[3].state, receipt_state::gone);
  EXPECT_EQ(c.last_ack().ack_ms, 45);
  EXPECT_EQ(c.unacked_named(), (std::vector<std::uint64_t>{4}));  // not gone, not nameless
}

TEST(AckCollector, UntilCompletesOnTheCountAndAllDoneSaysWhy) {
  ack_collector c({{1, "a"}, {2, "b"}, {3, "c"}}, {}, 2);
  EXPECT_TRUE(c.on_ack(1, "1", 1));
  EXPECT_FALSE(c.complete());
  EXPECT_TRUE(c.on_ack(3, "3", 2));
  EXPECT_TRUE(c.complete());
  EXPECT_FALSE(c.all_done());
  ack_collector all({{1, "a"}, {2, "b"}}, {}, 5);  // more than there are targets
  all.on_ack(1, "1", 1);
  all.on_gone(2);
  EXPECT_TRUE(all.complete());
  EXPECT_TRUE(all.all_done());
}

TEST(AckCollector, AResultLeftOutByTheLimitsLeavesItsReceiptWithoutResult) {
  ack_collector c({{1, "a"}, {2, "b"}}, {4, 100}, 0);
  c.on_ack(1, "\"too long\"", 1);
  c.on_ack(2, "12", 2);
  auto r = c.receipts();
  EXPECT_EQ(r[0].result, std::nullopt);
  EXPECT_EQ(r[1].result, std::optional<std::string>("12"));
  EXPECT_EQ(c.dropped(), 1u);
}
