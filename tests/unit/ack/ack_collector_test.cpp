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
