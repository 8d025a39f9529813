// The recovery merge and cursor (recovery/merge.hpp), without sockets.
#include "recovery/merge.hpp"

#include <gtest/gtest.h>

using namespace hf;
using namespace hf::recovery;

namespace {

numbered at(std::string epoch, std::uint64_t offset, std::string type = "t") {
  protocol::envelope e;
  e.id = "id" + std::to_string(offset);
  e.type = std::move(type);
  e.user_id = "u";
  return {std::make_shared<const protocol::envelope>(std::move(e)), std::move(epoch), offset};
}

std::vector<std::uint64_t> offsets(const std::vector<numbered>& v) {
  std::vector<std::uint64_t> out;
  for (const auto& n : v) out.push_back(n.offset);
  return out;
}

stream_view view(std::string epoch, std::uint64_t latest, std::vector<numbered> records,
                 bool complete) {
  return {true, std::move(epoch), latest, std::move(records), complete};
}

const auto every = [](const protocol::envelope&) { return true; };

}  // namespace

TEST(RecoveryMerge, ReplaysKeptEnvelopesAfterThePositionAndVouchesWhenComplete) {
  auto plan = plan_replay(stream_position{"E", 2}, view("E", 4, {at("E", 3), at("E", 4)}, true), {},
                          {}, every);
  EXPECT_TRUE(plan.recovered);
  EXPECT_EQ(offsets(plan.replay), (std::vector<std::uint64_t>{3, 4}));
  EXPECT_TRUE(plan.later.empty());
}

TEST(RecoveryMerge, NeverVouchesForAnotherEpochAnIncompleteViewOrNoPosition) {
  EXPECT_FALSE(
      plan_replay(stream_position{"old", 2}, view("E", 4, {}, true), {}, {}, every).recovered);
  EXPECT_FALSE(
      plan_replay(stream_position{"E", 2}, view("E", 4, {at("E", 4)}, false), {}, {}, every)
          .recovered);
  auto none = plan_replay(std::nullopt, view("E", 4, {at("E", 3)}, true), {}, {}, every);
  EXPECT_FALSE(none.recovered);
  EXPECT_TRUE(none.replay.empty());  // no position: offsets only, nothing replayed
}

TEST(RecoveryMerge, SkipsWhatWasSentBeforeTheRecoverAndWhatNoFilterMatches) {
  sent_before_recover sent;
  sent.record(3);
  auto plan =
      plan_replay(stream_position{"E", 1},
                  view("E", 5, {at("E", 2), at("E", 3), at("E", 4, "other"), at("E", 5)}, true), {},
                  sent, [](const protocol::envelope& e) { return e.type == "t"; });
  EXPECT_TRUE(plan.recovered);
  EXPECT_EQ(offsets(plan.replay), (std::vector<std::uint64_t>{2, 5}));
}

TEST(RecoveryMerge, AnOverflowedSentListAnswersRecoveredFalse) {
  sent_before_recover sent;
  for (std::uint64_t i = 1; i <= sent_before_recover::max_tracked; ++i) sent.record(i);
  EXPECT_FALSE(sent.overflowed());
  sent.record(sent_before_recover::max_tracked + 1);
  EXPECT_TRUE(sent.overflowed());
  EXPECT_FALSE(sent.contains(1));  // released: nothing is tracked any more
  EXPECT_FALSE(
      plan_replay(stream_position{"E", 0}, view("E", 0, {}, true), {}, sent, every).recovered);
}

TEST(RecoveryMerge, HeldEnvelopesMergeByOffsetOnceAndLaterOnesFollowTheFrame) {
  // The read saw 3..4; meanwhile the fan-out held 4 (again), 5 (after the
  // read: later) and an envelope of a newer epoch (later too).
  auto plan = plan_replay(stream_position{"E", 2}, view("E", 4, {at("E", 3), at("E", 4)}, true),
                          {at("E", 4), at("E", 5), at("F", 1)}, {}, every);
  EXPECT_EQ(offsets(plan.replay), (std::vector<std::uint64_t>{3, 4}));
  EXPECT_EQ(offsets(plan.later), (std::vector<std::uint64_t>{5, 1}));
  EXPECT_EQ(plan.later[1].epoch, "F");
}

TEST(RecoveryMerge, HeldEnvelopesAtOrBeforeThePositionAreDropped) {
  auto plan = plan_replay(stream_position{"E", 3}, view("E", 4, {at("E", 4)}, true),
                          {at("E", 2), at("E", 3), at("E", 4)}, {}, every);
  EXPECT_EQ(offsets(plan.replay), (std::vector<std::uint64_t>{4}));
  EXPECT_TRUE(plan.later.empty());
}

TEST(RecoveryMerge, AHeldEnvelopeMissingFromTheReadIsReplayedInOrder) {
  // A read that overtook the record of 4 (incomplete) still replays the held 4
  // before 5, in offset order.
  auto plan = plan_replay(stream_position{"E", 2}, view("E", 5, {at("E", 3), at("E", 5)}, false),
                          {at("E", 4)}, {}, every);
  EXPECT_FALSE(plan.recovered);
  EXPECT_EQ(offsets(plan.replay), (std::vector<std::uint64_t>{3, 4, 5}));
}

TEST(RecoveryCursor, SendsHigherOffsetsSkipsOthersAndAnnouncesANewEpoch) {
  cursor c{"E", 4, {}};
  EXPECT_EQ(advance(c, "E", 5), step::send);
  EXPECT_EQ(c.last, 5u);
  EXPECT_EQ(advance(c, "E", 5), step::skip);  // the same offset twice
  EXPECT_EQ(advance(c, "E", 3), step::skip);  // behind what the socket has
  EXPECT_EQ(c.last, 5u);
  EXPECT_EQ(advance(c, "F", 1), step::announce_then_send);
  EXPECT_EQ(c.epoch, "F");
  EXPECT_EQ(c.last, 1u);
  EXPECT_EQ(advance(c, "F", 2), step::send);
}

TEST(RecoveryMerge, HeldEnvelopesOfAnEpochTheClientDoesNotKnowFollowTheFrame) {
  // The client's position is in the old epoch; the read found a new one
  // (a failover) whose offset 1 was published, and held, during the read.
  // Offset 1 must not come before the frame that names "F": the frame
  // gives offset 0 and 1 follows it.
  auto plan = plan_replay(stream_position{"E", 7}, view("F", 1, {}, true), {at("F", 1), at("F", 2)},
                          {}, every);
  EXPECT_FALSE(plan.recovered);
  EXPECT_TRUE(plan.replay.empty());
  EXPECT_EQ(plan.frame_offset, 0u);
  EXPECT_EQ(offsets(plan.later), (std::vector<std::uint64_t>{1, 2}));
  // The same without a position at all.
  auto none =
      plan_replay(std::nullopt, view("F", 3, {}, true), {at("F", 3), at("F", 2)}, {}, every);
  EXPECT_TRUE(none.replay.empty());
  EXPECT_EQ(none.frame_offset, 1u);
  EXPECT_EQ(offsets(none.later), (std::vector<std::uint64_t>{2, 3}));
  // Nothing held: the frame gives the latest offset.
  EXPECT_EQ(plan_replay(std::nullopt, view("F", 3, {}, true), {}, {}, every).frame_offset, 3u);
}

TEST(RecoveryCursor, NeverGoesBackToAnEpochItLeftOrAnOlderStampedOne) {
  cursor c{"E", 4, {}};
  EXPECT_EQ(advance(c, "F", 1), step::announce_then_send);
  EXPECT_EQ(advance(c, "E", 5), step::skip);  // what a superseded master still wrote
  EXPECT_EQ(c.epoch, "F");
  EXPECT_EQ(advance(c, "F", 2), step::send);
  // Stamped epochs (a Redis Cluster master's config epoch first): a lower
  // stamp is older even if the socket never saw it.
  cursor s{"7:b-1", 3, {}};
  EXPECT_EQ(advance(s, "5:a-9", 4), step::skip);
  EXPECT_EQ(advance(s, "9:c-1", 1), step::announce_then_send);
  EXPECT_EQ(advance(s, "x:y", 1), step::announce_then_send);  // unstamped: no order known
}

TEST(RecoveryEpochStamp, ReadsTheConfigEpochBeforeTheColon) {
  EXPECT_EQ(epoch_stamp("12:ab-3"), 12u);
  EXPECT_EQ(epoch_stamp("0:x"), 0u);
  EXPECT_FALSE(epoch_stamp("ab-3"));
  EXPECT_FALSE(epoch_stamp(":x"));
  EXPECT_FALSE(epoch_stamp("1a:x"));
  EXPECT_FALSE(epoch_stamp("123456789012345678901:x"));
  EXPECT_TRUE(older_epoch("3:a", "4:b"));
  EXPECT_FALSE(older_epoch("4:a", "4:b"));
  EXPECT_FALSE(older_epoch("a", "4:b"));
}
