#include "broker/backoff.hpp"

#include <gtest/gtest.h>

#include <deque>

using namespace hf::broker;
using ms = std::chrono::milliseconds;

namespace {
// A random source that plays back `values` (then 0s).
backoff::random_source playback(std::deque<std::uint32_t> values) {
  return [values = std::move(values)]() mutable {
    if (values.empty()) return std::uint32_t{0};
    auto v = values.front();
    values.pop_front();
    return v;
  };
}
}  // namespace

TEST(Backoff, StepsDoubleFromMinUpToMaxAndResetOnSuccess) {
  backoff b(ms(100), ms(1000), playback({}));
  EXPECT_EQ(b.current(), ms(100));
  EXPECT_EQ(b.step(), ms(100));
  EXPECT_EQ(b.step(), ms(200));
  EXPECT_EQ(b.step(), ms(400));
  EXPECT_EQ(b.step(), ms(800));
  EXPECT_EQ(b.step(), ms(1000));  // clamped, not 1600
  EXPECT_EQ(b.step(), ms(1000));
  b.reset();
  EXPECT_EQ(b.step(), ms(100));
  EXPECT_EQ(b.current(), ms(200));
}

TEST(Backoff, JitterSpansHalfToOneAndAHalfTimesTheStep) {
  // r % (d + 1) added to d/2: r = 0 gives d/2, r = d gives 3d/2, r = d + 1
  // wraps to d/2 again.
  backoff b(ms(100), ms(5000), playback({0, 200, 401, 123}));
  EXPECT_EQ(b.next(), ms(50));   // d = 100, r = 0
  EXPECT_EQ(b.next(), ms(300));  // d = 200, r = 200: the top of [100, 300]
  EXPECT_EQ(b.next(), ms(200));  // d = 400, r = 401 -> 0
  EXPECT_EQ(b.next(), ms(523));  // d = 800, r = 123
}

TEST(Backoff, SingleRedisScheduleReachesFiveSecondsAndStaysThere) {
  backoff b(ms(100), ms(5000), playback({}));
  std::vector<ms> steps;
  for (int i = 0; i < 9; ++i) steps.push_back(b.step());
  EXPECT_EQ(steps, (std::vector<ms>{ms(100), ms(200), ms(400), ms(800), ms(1600), ms(3200),
                                    ms(5000), ms(5000), ms(5000)}));
}

TEST(Backoff, EveryDelayStaysInItsWindowWithTheSystemSource) {
  backoff b(ms(100), ms(5000));
  for (int round = 0; round < 3; ++round) {
    for (int i = 0; i < 12; ++i) {
      ms d = b.current();
      ms delay = b.next();
      EXPECT_GE(delay, d / 2);
      EXPECT_LE(delay, d / 2 + d);
    }
    b.reset();
    EXPECT_EQ(b.current(), ms(100));
  }
}

TEST(Backoff, DegenerateBoundsAreMadeSafe) {
  backoff zero(ms(0), ms(0), playback({}));
  EXPECT_EQ(zero.step(), ms(1));  // a zero step would never grow
  EXPECT_EQ(zero.step(), ms(1));
  backoff inverted(ms(300), ms(100), playback({}));
  EXPECT_EQ(inverted.step(), ms(300));  // max below min: min wins
  EXPECT_EQ(inverted.step(), ms(300));
}
