#include "broker/subscription_table.hpp"

#include <gtest/gtest.h>

using namespace hf::broker;
using action = subscription_table::action;

TEST(SubscriptionTable, FirstSocketSubscribesOthersWaitThenAllOpen) {
  subscription_table t;
  int opened = 0;
  subscription_table::ready_fn a = [&] { ++opened; }, b = a, c = a;
  EXPECT_EQ(t.opening("u", true, a), action::subscribe);
  EXPECT_EQ(t.opening("u", true, b), action::wait);
  EXPECT_FALSE(t.subscribed("u"));
  for (auto& f : t.confirmed("u")) f();
  EXPECT_EQ(opened, 2);
  EXPECT_TRUE(t.subscribed("u"));
  EXPECT_EQ(t.opening("u", true, c), action::ready);  // already subscribed
  EXPECT_FALSE(t.closed("u"));
  EXPECT_FALSE(t.closed("u"));
  EXPECT_TRUE(t.closed("u"));  // the last socket: unsubscribe
  EXPECT_FALSE(t.subscribed("u"));
  EXPECT_FALSE(t.closed("u"));  // nothing left: no second unsubscribe
  EXPECT_EQ(t.size(), 0u);
}

TEST(SubscriptionTable, DisconnectedOpensAtOnceAndLossReleasesWaiters) {
  subscription_table t;
  int opened = 0;
  subscription_table::ready_fn f = [&] { ++opened; }, g = f;
  EXPECT_EQ(t.opening("u", false, f), action::ready);  // Redis down: local only, no wait
  EXPECT_EQ(t.opening("v", true, g), action::subscribe);
  auto released = t.lost();
  ASSERT_EQ(released.size(), 1u);
  released[0]();
  EXPECT_EQ(opened, 1);
  auto users = t.users();
  std::sort(users.begin(), users.end());
  EXPECT_EQ(users, (std::vector<std::string>{"u", "v"}));  // both resubscribed on reconnect
  EXPECT_TRUE(t.confirmed("v").empty());
  EXPECT_TRUE(t.subscribed("v"));
}

TEST(SubscriptionTable, StaleConfirmationAfterTheLastCloseIsNotKept) {
  subscription_table t;
  subscription_table::ready_fn f = [] {}, g = [] {};
  EXPECT_EQ(t.opening("u", true, f), action::subscribe);
  for (auto& r : t.lost()) r();  // released without a subscription
  EXPECT_TRUE(t.closed("u"));
  EXPECT_TRUE(t.confirmed("u").empty());  // the SUBSCRIBE's late reply
  EXPECT_FALSE(t.subscribed("u"));
  EXPECT_EQ(t.opening("u", true, g), action::subscribe);  // a new socket subscribes again
}
