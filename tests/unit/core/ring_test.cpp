#include "core/ring.hpp"

#include <gtest/gtest.h>

#include <deque>
#include <memory>
#include <random>

using hf::core::ring;

// Against std::deque under random pushes and pops: same order, same size,
// through every wrap and growth.
TEST(Ring, BehavesLikeADequeUsedAsAQueue) {
  ring<int> r;
  std::deque<int> d;
  std::minstd_rand rng(7);
  for (int step = 0; step < 20000; ++step) {
    if (d.empty() || rng() % 3 != 0) {
      r.push_back(step);
      d.push_back(step);
    } else {
      ASSERT_EQ(r.front(), d.front());
      r.pop_front();
      d.pop_front();
    }
    ASSERT_EQ(r.size(), d.size());
    if (!d.empty()) {
      ASSERT_EQ(r.back(), d.back());
      std::size_t i = rng() % d.size();
      ASSERT_EQ(r[i], d[i]);
    }
  }
}

TEST(Ring, PopReleasesTheElementAndReleaseGivesMemoryBack) {
  ring<std::shared_ptr<int>> r;
  auto p = std::make_shared<int>(1);
  r.push_back(p);
  r.push_back(std::make_shared<int>(2));
  EXPECT_EQ(p.use_count(), 2);
  r.pop_front();
  EXPECT_EQ(p.use_count(), 1);  // gone from the ring at once
  EXPECT_EQ(*r.front(), 2);
  r.pop_front();
  EXPECT_TRUE(r.empty());
  r.release();
  r.push_back(p);
  EXPECT_EQ(*r.front(), 1);
}
