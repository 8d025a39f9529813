// The fence against what a superseded Redis Cluster master wrote
// (broker/epoch_fence.hpp).
#include "broker/epoch_fence.hpp"

#include <gtest/gtest.h>

using hf::broker::epoch_fence;

TEST(EpochFence, RefusesALowerConfigEpochOnTheSameSlotOnly) {
  epoch_fence f;
  EXPECT_TRUE(f.admit(7, "3:a-1"));
  EXPECT_TRUE(f.admit(7, "5:b-1"));   // the promoted replica's epoch
  EXPECT_FALSE(f.admit(7, "3:a-1"));  // the old master, thawed
  EXPECT_EQ(f.refused(), 1u);
  EXPECT_TRUE(f.admit(7, "5:b-2"));     // a renewal on the same master
  EXPECT_TRUE(f.admit(8, "3:a-1"));     // another slot has its own master
  EXPECT_TRUE(f.admit(7, "no-stamp"));  // one Redis: nothing to compare
  EXPECT_TRUE(f.admit(16384, "1:x"));   // not a slot: not fenced
}
