#include "core/log.hpp"

#include <gtest/gtest.h>

using hf::core::log_budget;
using namespace std::chrono_literals;

TEST(LogBudget, BoundsLinesPerSecondAndCountsTheRest) {
  log_budget b(3);
  auto t0 = std::chrono::steady_clock::time_point{} + 10s;
  int allowed = 0;
  for (int i = 0; i < 100; ++i) allowed += b.allow(t0 + std::chrono::milliseconds(i));
  EXPECT_EQ(allowed, 3);
  EXPECT_TRUE(b.allow(t0 + 1s));  // a new second
  EXPECT_EQ(b.take_suppressed(), 97u);
  EXPECT_EQ(b.take_suppressed(), 0u);
}
