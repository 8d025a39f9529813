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

// Closed before its SUBSCRIBE was confirmed, then a new socket of the user:
// Redis sees SUBSCRIBE, UNSUBSCRIBE, SUBSCRIBE and replies in that order.
// The new socket opens on the second SUBSCRIBE's reply, never on the first
// (after which the UNSUBSCRIBE would leave it unsubscribed).
TEST(SubscriptionTable, ASocketOpeningAfterAnUnsubscribeWaitsForItsOwnSubscribe) {
  subscription_table t;
  int a_opened = 0, b_opened = 0;
  subscription_table::ready_fn a = [&] { ++a_opened; }, b = [&] { ++b_opened; };
  EXPECT_EQ(t.opening("u", true, a), action::subscribe);  // SUBSCRIBE #1
  EXPECT_TRUE(t.closed("u"));                             // UNSUBSCRIBE
  EXPECT_EQ(t.opening("u", true, b), action::subscribe);  // SUBSCRIBE #2, not a silent wait
  for (auto& f : t.confirmed("u")) f();                   // reply to #1
  EXPECT_EQ(b_opened, 0);
  EXPECT_FALSE(t.subscribed("u"));
  for (auto& f : t.confirmed("u")) f();  // reply to #2
  EXPECT_EQ(b_opened, 1);
  EXPECT_EQ(a_opened, 0);
  EXPECT_TRUE(t.subscribed("u"));
}

// One user's subscription lost (its Redis Cluster master failed) while the
// rest stays: that user's waiting sockets open, the others keep waiting.
TEST(SubscriptionTable, OneUsersLossReleasesOnlyThatUser) {
  subscription_table t;
  int opened = 0;
  subscription_table::ready_fn a = [&] { ++opened; }, b = a, c = a;
  EXPECT_EQ(t.opening("u", true, a), action::subscribe);
  EXPECT_EQ(t.opening("v", true, b), action::subscribe);
  for (auto& f : t.confirmed("v")) f();
  EXPECT_EQ(opened, 1);
  for (auto& f : t.lost("u")) f();
  EXPECT_EQ(opened, 2);
  EXPECT_TRUE(t.lost("v").empty());  // nothing waited for v
  EXPECT_FALSE(t.subscribed("v"));
  EXPECT_EQ(t.opening("v", true, c), action::subscribe);  // v subscribes again for the next socket
  for (auto& f : t.confirmed("u")) f();                   // u's channel subscribed again later
  EXPECT_TRUE(t.subscribed("u"));
  EXPECT_EQ(t.size(), 2u);
}

// A Redis Cluster backend reports only the confirmation of the last
// SSUBSCRIBE per channel: a socket that closed before its confirmation
// leaves nothing stale behind, and the next socket opens on the next report.
TEST(SubscriptionTable, WithOnlyTheLastReplyReportedNothingIsStale) {
  subscription_table t;
  t.every_reply_reported(false);
  int opened = 0;
  subscription_table::ready_fn f = [&] { ++opened; }, g = f;
  EXPECT_EQ(t.opening("u", true, f), action::subscribe);
  EXPECT_TRUE(t.closed("u"));  // closed before the confirmation: its report never comes
  EXPECT_EQ(t.opening("u", true, g), action::subscribe);
  for (auto& r : t.confirmed("u")) r();  // the report for the second SSUBSCRIBE
  EXPECT_EQ(opened, 1);
  EXPECT_TRUE(t.subscribed("u"));
}
