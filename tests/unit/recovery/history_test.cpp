#include "recovery/history.hpp"

#include <gtest/gtest.h>

using namespace hf;
using namespace std::chrono_literals;
using recovery::history;

namespace {

struct history_fixture : ::testing::Test {
  recovery::time_point t0{};  // a fake clock
  int epochs = 0;
  std::function<std::string()> next_epoch = [this] { return "E" + std::to_string(++epochs); };

  static std::shared_ptr<const protocol::envelope> env(const std::string& user,
                                                       std::string text = "{}") {
    protocol::envelope e;
    e.id = "id";
    e.type = "t";
    e.user_id = user;
    e.text = std::move(text);
    return std::make_shared<const protocol::envelope>(std::move(e));
  }
  static std::vector<std::uint64_t> offsets(const history::since_result& r) {
    std::vector<std::uint64_t> out;
    for (auto* rec : r.records) out.push_back(rec->offset);
    return out;
  }
};

}  // namespace

TEST_F(history_fixture, OffsetsCountUpPerUserInOneEpoch) {
  history h({10, 60s, 1 << 20}, next_epoch);
  EXPECT_EQ(h.at("u", t0).offset, 0u);  // nothing published yet
  auto e = h.at("u", t0).epoch;
  auto s1 = h.append(env("u"), t0);
  EXPECT_EQ(s1.offset, 1u);
  EXPECT_FALSE(s1.new_epoch);  // the stream existed (at() made it)
  EXPECT_EQ(h.append(env("u"), t0).offset, 2u);
  EXPECT_EQ(h.append(env("v"), t0).offset, 1u);  // another user, its own count
  EXPECT_TRUE(h.append(env("w"), t0).new_epoch);
  EXPECT_EQ(h.at("u", t0).epoch, e);
  EXPECT_NE(h.at("v", t0).epoch, e);
  EXPECT_EQ(h.at("u", t0).offset, 2u);
}

TEST_F(history_fixture, SinceReplaysWhatWasKeptAndSaysWhetherItIsEverything) {
  history h({3, 60s, 1 << 20}, next_epoch);
  for (int i = 0; i < 5; ++i) h.append(env("u"), t0);  // offsets 1..5; 3..5 kept
  auto e = h.at("u", t0).epoch;
  auto r = h.since("u", e, 2);
  EXPECT_EQ(offsets(r), (std::vector<std::uint64_t>{3, 4, 5}));
  EXPECT_TRUE(r.complete);  // 3 is the first one after 2
  r = h.since("u", e, 1);
  EXPECT_EQ(offsets(r), (std::vector<std::uint64_t>{3, 4, 5}));
  EXPECT_FALSE(r.complete);  // 2 is gone
  r = h.since("u", e, 5);
  EXPECT_TRUE(r.records.empty());
  EXPECT_TRUE(r.complete);                          // already the latest
  EXPECT_FALSE(h.since("u", e, 6).complete);        // a position this epoch never reached
  EXPECT_FALSE(h.since("u", "other", 4).complete);  // another epoch
  EXPECT_TRUE(h.since("u", "other", 4).records.empty());
  EXPECT_FALSE(h.since("nobody", e, 0).complete);
}

TEST_F(history_fixture, HistoryOffStillCountsAndOnlyTheLatestIsComplete) {
  history h({0, 60s, 1 << 20}, next_epoch);
  h.append(env("u"), t0);
  h.append(env("u"), t0);
  auto p = h.at("u", t0);
  EXPECT_EQ(p.offset, 2u);
  EXPECT_EQ(h.records(), 0u);
  EXPECT_FALSE(h.since("u", p.epoch, 1).complete);
  EXPECT_TRUE(h.since("u", p.epoch, 2).complete);
}

TEST_F(history_fixture, RecordsAgeOutAndUnusedStreamsAreForgotten) {
  history h({10, 60s, 1 << 20}, next_epoch);
  h.append(env("u"), t0);
  h.append(env("u"), t0 + 30s);
  auto e = h.at("u", t0).epoch;
  h.expire(t0 + 61s);  // the first record is past its ttl
  auto r = h.since("u", e, 0);
  EXPECT_EQ(offsets(r), std::vector<std::uint64_t>{2});
  EXPECT_FALSE(r.complete);
  h.expire(t0 + 91s);  // the second too: the stream has nothing left and nobody
  EXPECT_EQ(h.streams(), 0u);
  EXPECT_NE(h.at("u", t0 + 91s).epoch, e);  // a new epoch: the old position cannot be vouched for
}

// A stream is made only when a user is published to or asked about; one
// made for a user with open sockets counts them (sockets_of), as if pinned.
TEST_F(history_fixture, StreamsAreMadeLazilyAndCountTheSocketsAlreadyOpen) {
  std::size_t open = 0;
  history h({10, 60s, 1 << 20}, next_epoch,
            [&](const std::string& u) { return u == "u" ? open : 0; });
  open = 1;
  h.pin("u", t0);  // a connected user costs nothing until used
  EXPECT_EQ(h.streams(), 0u);
  auto e = h.at("u", t0).epoch;
  EXPECT_EQ(h.streams(), 1u);
  h.expire(t0 + 10min);
  EXPECT_EQ(h.at("u", t0 + 10min).epoch, e);  // kept: its socket was counted when made
  open = 2;
  h.pin("u", t0 + 10min);  // a second socket, counted on the stream
  h.unpin("u", t0 + 10min);
  h.expire(t0 + 20min);
  EXPECT_EQ(h.at("u", t0 + 20min).epoch, e);  // one socket still open
  h.unpin("u", t0 + 20min);
  h.expire(t0 + 30min);
  EXPECT_EQ(h.streams(), 0u);  // the last socket gone and nothing kept: forgotten after the ttl
  // Published to with nobody connected: no socket to count.
  h.append(env("v"), t0 + 30min);
  h.expire(t0 + 40min);
  EXPECT_EQ(h.streams(), 0u);
}

TEST_F(history_fixture, APinnedUserKeepsItsEpoch) {
  history h({10, 60s, 1 << 20}, next_epoch, [](const std::string&) { return std::size_t{1}; });
  h.pin("u", t0);
  auto e = h.at("u", t0).epoch;
  h.append(env("u"), t0);
  h.expire(t0 + 10min);
  EXPECT_EQ(h.records(), 0u);
  EXPECT_EQ(h.at("u", t0 + 10min).epoch, e);
  EXPECT_EQ(h.at("u", t0 + 10min).offset, 1u);
  h.unpin("u", t0 + 10min);
  h.expire(t0 + 10min);
  EXPECT_EQ(h.streams(), 0u);
}

TEST_F(history_fixture, TheMemoryBudgetTakesTheOldestRecordsAcrossUsers) {
  std::string text(1000, 'x');
  history h({100, 60s, 8000}, next_epoch);
  h.append(env("a", text), t0);
  h.append(env("b", text), t0 + 1s);
  h.append(env("a", text), t0 + 2s);
  h.append(env("b", text), t0 + 3s);
  EXPECT_LE(h.bytes(), 8000u);
  EXPECT_EQ(h.records(), 3u);  // a's first record went
  auto ea = h.at("a", t0).epoch;
  EXPECT_FALSE(h.since("a", ea, 0).complete);
  EXPECT_EQ(offsets(h.since("a", ea, 0)), std::vector<std::uint64_t>{2});
  EXPECT_TRUE(h.since("b", h.at("b", t0).epoch, 0).complete);
  for (int i = 0; i < 50; ++i) h.append(env("c" + std::to_string(i), text), t0 + 4s);
  EXPECT_LE(h.bytes(), 8000u);
}
