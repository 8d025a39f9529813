// Epoch renewals after an outage (broker/epoch_renewals.hpp), with a fake sender.
#include "broker/epoch_renewals.hpp"

#include <gtest/gtest.h>

#include <map>

using namespace hf::broker;

namespace {
struct fake {
  std::map<std::string, std::function<void(bool)>> waiting;
  bool accept = true;
  int settled = 0;
  epoch_renewals r{[this](const std::string& user, std::function<void(bool)> done) {
                     if (!accept) return false;
                     waiting[user] = std::move(done);
                     return true;
                   },
                   [this] { ++settled; }};
};
}  // namespace

TEST(EpochRenewals, TaintedUsersAreRenewedOnceAndAgainIfTheRenewalFails) {
  fake f;
  f.r.taint("a");
  f.r.taint("b");
  EXPECT_TRUE(f.r.any_tainted());
  f.r.renew_all();
  EXPECT_FALSE(f.r.any_tainted());
  EXPECT_TRUE(f.r.busy());
  ASSERT_EQ(f.waiting.size(), 2u);
  f.waiting["a"](true);
  f.waiting["b"](false);
  EXPECT_FALSE(f.r.busy());
  EXPECT_EQ(f.settled, 2);
  EXPECT_TRUE(f.r.any_tainted());  // b again
  f.waiting.clear();
  f.r.renew_if_tainted("a");
  EXPECT_TRUE(f.waiting.empty());  // a is fine
  f.r.renew_if_tainted("b");
  EXPECT_EQ(f.waiting.count("b"), 1u);
}

TEST(EpochRenewals, AnswersFromBeforeAnOutageDoNotCount) {
  fake f;
  f.r.taint("a");
  f.r.renew_all();
  f.r.redis_lost();
  EXPECT_FALSE(f.r.busy());
  f.waiting["a"](true);  // answered, but Redis was lost meanwhile
  EXPECT_EQ(f.settled, 0);
  EXPECT_TRUE(f.r.any_tainted());
}

TEST(EpochRenewals, AnUnsentRenewalStaysTaintedAndTheSetIsBounded) {
  fake f;
  f.accept = false;
  f.r.taint("a");
  f.r.renew_all();
  EXPECT_FALSE(f.r.busy());
  EXPECT_TRUE(f.r.any_tainted());
  for (std::size_t i = 0; i < epoch_renewals::max_tainted + 5; ++i) f.r.taint(std::to_string(i));
  EXPECT_TRUE(f.r.take_overflow());
  EXPECT_FALSE(f.r.take_overflow());  // said once
}
