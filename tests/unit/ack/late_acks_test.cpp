// docs/protocol.md section 14: the targets a shard still accepts a late ack
// from, and their bounds.
#include "ack/late_acks.hpp"

#include <gtest/gtest.h>

using namespace hf::ack;
using namespace std::chrono_literals;
using clock_t_ = late_acks::clock;

TEST(LateAcks, AWaitingTargetOfTheUserAcksOnceWithinTheWindow) {
  late_acks t;
  auto t0 = clock_t_::time_point{} + 1h;
  ASSERT_TRUE(t.watch("e1", "u1", t0, t0 + 60s, {{7, "phone"}, {8, std::nullopt}}));
  EXPECT_EQ(t.targets(), 2u);
  EXPECT_FALSE(t.take("e1", "u2", 7, t0 + 1s)) << "another user's socket";
  EXPECT_FALSE(t.take("e1", "u1", 9, t0 + 1s)) << "not a target";
  EXPECT_FALSE(t.take("e2", "u1", 7, t0 + 1s)) << "another envelope";
  auto a = t.take("e1", "u1", 7, t0 + 5s);
  ASSERT_TRUE(a);
  EXPECT_EQ(a->device, "phone");
  EXPECT_EQ(a->arrived, t0);
  EXPECT_FALSE(t.take("e1", "u1", 7, t0 + 6s)) << "a second ack";
  EXPECT_FALSE(t.take("e1", "u1", 8, t0 + 61s)) << "after the window";
  auto b = t.take("e1", "u1", 8, t0 + 60s);
  ASSERT_TRUE(b);
  EXPECT_EQ(b->device, std::nullopt);
  EXPECT_TRUE(t.empty()) << "the envelope goes with its last target";
}

TEST(LateAcks, ExpireForgetsEndedWindowsOnly) {
  late_acks t;
  auto t0 = clock_t_::time_point{} + 1h;
  t.watch("e1", "u", t0, t0 + 10s, {{1, {}}});
  t.watch("e2", "u", t0 + 1s, t0 + 11s, {{2, {}}, {3, {}}});
  t.expire(t0 + 10s);
  EXPECT_EQ(t.envelopes(), 1u);
  EXPECT_EQ(t.targets(), 2u);
  EXPECT_TRUE(t.take("e2", "u", 3, t0 + 10s));
  t.expire(t0 + 11s);
  EXPECT_TRUE(t.empty());
  EXPECT_EQ(t.targets(), 0u);
}

TEST(LateAcks, NothingToWatchOrATableThatIsFullKeepsNothing) {
  late_acks t;
  auto t0 = clock_t_::time_point{} + 1h;
  EXPECT_FALSE(t.watch("e0", "u", t0, t0 + 1s, {}));
  std::vector<target> many(late_acks::max_targets, target{1, {}});
  EXPECT_TRUE(t.watch("big", "u", t0, t0 + 1s, many));
  EXPECT_FALSE(t.watch("one-more", "u", t0, t0 + 1s, {{2, {}}}));
  EXPECT_FALSE(t.watch("big", "u", t0, t0 + 1s, {{2, {}}})) << "already watched";
  t.expire(t0 + 1s);
  EXPECT_TRUE(t.watch("one-more", "u", t0, t0 + 2s, {{2, {}}}));
}

TEST(LateAcks, TheOrderOfWatchesStaysBoundedWhenTakesFinishThem) {
  late_acks t;
  auto t0 = clock_t_::time_point{} + 1h;
  // Many more watches than max_envelopes, each finished by its ack at once:
  // the table never fills, and old ids are dropped from the order.
  for (std::size_t i = 0; i < 3 * late_acks::max_envelopes; ++i) {
    std::string id = "e" + std::to_string(i);
    ASSERT_TRUE(t.watch(id, "u", t0, t0 + 60s, {{i, {}}})) << i;
    ASSERT_TRUE(t.take(id, "u", i, t0));
  }
  EXPECT_TRUE(t.empty());
}
