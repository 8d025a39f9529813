#include "ws/outbox.hpp"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

using namespace hf;
using hf::ws::outbox;

namespace {
hub::shared_text text(std::string s) { return std::make_shared<const std::string>(std::move(s)); }

// What a gathered send of the queue would put on the wire.
std::string wire(const outbox& box) {
  std::size_t total = 0;
  std::string out;
  for (const auto& b : box.gather(total)) out.append(static_cast<const char*>(b.data()), b.size());
  EXPECT_EQ(out.size(), total);
  return out;
}
std::string unsent(const outbox& box) {
  std::string out;
  for (const auto& b : box.unsent()) out.append(static_cast<const char*>(b.data()), b.size());
  return out;
}
}  // namespace

TEST(Outbox, CountsDataBytesAndFramesAndGathersInOrder) {
  outbox box;
  EXPECT_FALSE(box.queued());
  box.push(outbox::raw(text("RAW")));
  box.push(outbox::data(ws::op_text, text("hello"), false));
  EXPECT_EQ(box.frames(), 2u);
  EXPECT_EQ(box.bytes(), 5u);  // data payloads only
  // The data frame's 2-byte header (FIN + text, length 5) precedes its text.
  EXPECT_EQ(wire(box), std::string("RAW") + "\x81\x05" + "hello");
  box.sent_all();
  EXPECT_FALSE(box.queued());
  EXPECT_EQ(box.bytes(), 0u);
}

TEST(Outbox, AQueuedPongIsReplacedAndDroppingDataKeepsRawBytes) {
  outbox box;
  auto first = text("pong1");
  EXPECT_FALSE(box.replace_pong(first));  // none queued
  box.push(outbox::raw(text("101")));
  box.push(outbox::data(ws::op_text, text("env"), false));
  box.push(outbox::raw(text("pong1")), true);
  auto second = text("pong2");
  EXPECT_TRUE(box.replace_pong(second));
  EXPECT_EQ(wire(box), std::string("101") + "\x81\x03" + "env" + "pong2");
  box.drop_data();
  EXPECT_EQ(box.bytes(), 0u);
  EXPECT_EQ(wire(box), "101pong2");  // raw bytes stay, in order
  auto third = text("pong3");
  EXPECT_FALSE(box.replace_pong(third));  // dropping forgets where the pong was
}

TEST(Outbox, AFlightGoesOnWhereTheKernelStoppedAndCountsWhatIsNotWhollySent) {
  outbox box;
  box.push(outbox::data(ws::op_text, text("abcdef"), false));
  box.push(outbox::data(ws::op_text, text("ghij"), false));
  std::size_t total = 0;
  auto& buffers = box.gather(total);
  EXPECT_EQ(total, 2u + 6 + 2 + 4);
  box.start_flight(buffers, 5, false);  // the header and "abc"
  EXPECT_TRUE(box.in_flight());
  EXPECT_FALSE(box.queued());   // later frames queue behind the flight
  EXPECT_EQ(box.bytes(), 10u);  // neither frame is wholly sent
  EXPECT_EQ(unsent(box), std::string("def") + "\x81\x04" + "ghij");
  box.push(outbox::data(ws::op_text, text("k"), false));
  EXPECT_EQ(box.bytes(), 11u);
  box.advance(4);  // "def" and the second header's first byte
  EXPECT_EQ(unsent(box), std::string("\x04") + "ghij");
  EXPECT_EQ(box.bytes(), 5u);  // the first frame is out: "ghij" and "k" count
  EXPECT_FALSE(box.flight_done());
  box.advance(5);
  EXPECT_TRUE(box.flight_done());
  box.end_flight();
  EXPECT_FALSE(box.in_flight());
  EXPECT_EQ(box.bytes(), 1u);  // the frame queued behind it
  EXPECT_EQ(wire(box), std::string("\x81\x01") + "k");
}

TEST(Outbox, AFailedFlightIsDoneAtOnceAndEndsCleanly) {
  outbox box;
  box.push(outbox::data(ws::op_text, text("lost"), false));
  box.start_flight({}, 0, true);
  EXPECT_TRUE(box.flight_failed());
  EXPECT_TRUE(box.flight_done());
  EXPECT_TRUE(box.unsent().empty());
  box.end_flight();
  EXPECT_FALSE(box.flight_failed());
  EXPECT_EQ(box.bytes(), 0u);
}

TEST(Outbox, ASentQueueGivesItsMemoryToTheNextOutboxOfTheThread) {
  {
    outbox a;
    a.push(outbox::data(ws::op_text, text("one"), false));
    std::size_t during = outbox::spares();  // a took one, if there was one
    a.sent_all();
    EXPECT_EQ(outbox::spares(), during + 1);  // a holds none now
    outbox b;
    b.push(outbox::data(ws::op_text, text("two"), false));
    EXPECT_EQ(outbox::spares(), during);  // b took it
    EXPECT_EQ(wire(b), std::string("\x81\x03") + "two");
    b.sent_all();
  }
  // A queue grown past spare_frames is freed, not kept.
  outbox big;
  for (std::size_t i = 0; i <= outbox::spare_frames; ++i)
    big.push(outbox::data(ws::op_text, text("x"), false));
  std::size_t kept = outbox::spares();
  big.sent_all();
  EXPECT_EQ(outbox::spares(), kept);
}

// A turn that writes to more sockets than spare_floor keeps that many
// queues (the next such turn allocates none) until the sweep after it.
TEST(Outbox, TheSparesFollowHowManyQueuesTheThreadHeldAtOnceUntilTheSweep) {
  outbox::sweep_spares();  // nothing held on this thread: down to the floor
  EXPECT_LE(outbox::spares(), outbox::spare_floor);
  std::size_t n = outbox::spare_floor + 1000;
  std::vector<std::unique_ptr<outbox>> boxes;
  for (std::size_t i = 0; i < n; ++i) {
    boxes.push_back(std::make_unique<outbox>());
    boxes.back()->push(outbox::data(ws::op_text, text("x"), false));
  }
  for (auto& b : boxes) b->sent_all();
  EXPECT_EQ(outbox::spares(), n);
  for (auto& b : boxes) b->push(outbox::data(ws::op_text, text("y"), false));
  EXPECT_EQ(outbox::spares(), 0u);  // every queue came from the spares
  outbox::sweep_spares();           // while they are held: the peak stays
  for (auto& b : boxes) b->sent_all();
  EXPECT_EQ(outbox::spares(), n);
  boxes.clear();
  outbox::sweep_spares();  // none held now: back to the floor
  EXPECT_EQ(outbox::spares(), outbox::spare_floor);
}
