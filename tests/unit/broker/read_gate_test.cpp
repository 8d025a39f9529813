// Stream reads per node and per user (broker/read_gate.hpp), with a fake clock.
#include "broker/read_gate.hpp"

#include <gtest/gtest.h>

using namespace hf::broker;
using v = read_gate::verdict;

TEST(ReadGate, RunsAFewAtOnceAndTheRestInTurn) {
  read_gate g;
  read_gate::clock::time_point t{};
  for (std::size_t i = 0; i < read_gate::max_running; ++i)
    EXPECT_EQ(g.admit("u" + std::to_string(i), t), v::run);
  EXPECT_EQ(g.admit("late", t), v::wait);
  EXPECT_EQ(g.running(), read_gate::max_running);
  EXPECT_TRUE(g.next());   // one finished: the waiting one starts
  EXPECT_FALSE(g.next());  // another finished: nobody waits
  EXPECT_EQ(g.running(), read_gate::max_running - 1);
  g.reset();
  EXPECT_EQ(g.running(), 0u);
}

TEST(ReadGate, OneUserGetsAtMostItsShareOfAWindow) {
  read_gate g;
  read_gate::clock::time_point t{};
  std::size_t refused = 0;
  for (std::size_t i = 0; i < read_gate::per_user + 5; ++i) {
    if (g.admit("greedy", t) == v::refuse) ++refused;
    g.next();
  }
  EXPECT_EQ(refused, 5u);
  EXPECT_NE(g.admit("other", t), v::refuse);                       // others are not affected
  EXPECT_NE(g.admit("greedy", t + read_gate::window), v::refuse);  // a new window
}
