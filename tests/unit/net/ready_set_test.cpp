#include "net/ready_set.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

using hf::net::ready_set;

namespace {

struct pair_of_fds {
  int a = -1, b = -1;  // a: in the set; b: the peer the test writes with
  pair_of_fds() {
    int fds[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, fds) == 0) a = fds[0], b = fds[1];
  }
  ~pair_of_fds() {
    if (a >= 0) ::close(a);
    if (b >= 0) ::close(b);
  }
};

struct recorder final : ready_set::watcher {
  std::vector<std::uint32_t> seen;
  std::function<void()> then;
  int abandoned = 0;
  void on_ready(std::uint32_t events) override {
    seen.push_back(events);
    if (then) then();
  }
  int deadlines = 0;
  std::function<void()> at_deadline;
  void on_deadline() override {
    ++deadlines;
    if (at_deadline) at_deadline();
  }
  void abandon() override { ++abandoned; }
  std::function<void()> at_flush;
  void on_flush() override {
    if (at_flush) at_flush();
  }
  bool saw(std::uint32_t bit) const {
    for (auto e : seen)
      if (e & bit) return true;
    return false;
  }
};

void turn(boost::asio::io_context& ioc) {
  ioc.restart();
  ioc.poll();
}

}  // namespace

TEST(ReadySet, ReportsRoomToWriteThenArrivalsAndTheClose) {
  boost::asio::io_context ioc(1);
  ready_set set(ioc);
  pair_of_fds p;
  recorder r;
  ASSERT_TRUE(set.add(p.a, r));
  EXPECT_EQ(set.size(), 1u);
  turn(ioc);
  EXPECT_TRUE(r.saw(EPOLLOUT));  // edge-triggered: room to write, once
  EXPECT_FALSE(r.saw(EPOLLIN));
  r.seen.clear();
  turn(ioc);
  EXPECT_TRUE(r.seen.empty());  // no new edge, no report
  ASSERT_EQ(::write(p.b, "hi", 2), 2);
  turn(ioc);
  EXPECT_TRUE(r.saw(EPOLLIN));
  r.seen.clear();
  ::close(p.b);
  p.b = -1;
  turn(ioc);
  EXPECT_TRUE(r.saw(EPOLLRDHUP));
  set.remove(p.a, r);
  EXPECT_EQ(set.size(), 0u);
}

TEST(ReadySet, AWatcherRemovedDuringATurnHearsNothingMore) {
  boost::asio::io_context ioc(1);
  ready_set set(ioc);
  pair_of_fds p1, p2;
  recorder first, second;
  ASSERT_TRUE(set.add(p1.a, first));
  ASSERT_TRUE(set.add(p2.a, second));
  turn(ioc);  // the initial EPOLLOUT edges
  first.seen.clear();
  second.seen.clear();
  // Both become readable in the same turn; whichever is told first removes
  // the other, whose fetched event must not be delivered (it could be
  // destroyed by then; here it is kept, to see that it heard nothing).
  bool removed_one = false;
  first.then = [&] {
    if (!removed_one) set.remove(p2.a, second), removed_one = true;
  };
  second.then = [&] {
    if (!removed_one) set.remove(p1.a, first), removed_one = true;
  };
  ASSERT_EQ(::write(p1.b, "x", 1), 1);
  ASSERT_EQ(::write(p2.b, "y", 1), 1);
  turn(ioc);
  EXPECT_TRUE(removed_one);
  EXPECT_TRUE(first.seen.empty() != second.seen.empty());  // exactly one was told
  EXPECT_EQ(set.size(), 1u);
  set.remove(p1.a, first);
  set.remove(p2.a, second);
}

TEST(ReadySet, MoreReadySocketsThanOneBatchAreAllTold) {
  boost::asio::io_context ioc(1);
  ready_set set(ioc);
  constexpr int n = 300;  // more than one batch of 256 (600 descriptors)
  std::vector<std::unique_ptr<pair_of_fds>> pairs;
  std::vector<std::unique_ptr<recorder>> watchers;
  for (int i = 0; i < n; ++i) {
    pairs.push_back(std::make_unique<pair_of_fds>());
    watchers.push_back(std::make_unique<recorder>());
    ASSERT_TRUE(set.add(pairs.back()->a, *watchers.back()));
  }
  turn(ioc);
  for (auto& w : watchers) w->seen.clear();
  for (auto& p : pairs) ASSERT_EQ(::write(p->b, "z", 1), 1);
  turn(ioc);
  int told = 0;
  for (auto& w : watchers) told += w->saw(EPOLLIN) ? 1 : 0;
  EXPECT_EQ(told, n);
  for (int i = 0; i < n; ++i)
    set.remove(pairs[static_cast<std::size_t>(i)]->a, *watchers[static_cast<std::size_t>(i)]);
  EXPECT_EQ(set.size(), 0u);
}

TEST(ReadySet, GoingAwayAbandonsExactlyTheWatchersStillInIt) {
  boost::asio::io_context ioc(1);
  auto set = std::make_unique<ready_set>(ioc);
  pair_of_fds p[4];
  recorder r[4];
  for (int i = 0; i < 4; ++i) ASSERT_TRUE(set->add(p[i].a, r[i]));
  // Removed from the middle, the head and the tail of the set's list.
  set->remove(p[1].a, r[1]);
  set->remove(p[3].a, r[3]);
  set->remove(p[0].a, r[0]);
  set->remove(p[0].a, r[0]);  // twice: no effect
  EXPECT_EQ(set->size(), 1u);
  set.reset();
  EXPECT_EQ(r[0].abandoned, 0);
  EXPECT_EQ(r[1].abandoned, 0);
  EXPECT_EQ(r[2].abandoned, 1);
  EXPECT_EQ(r[3].abandoned, 0);
}

TEST(ReadySet, AWatcherMayLeaveWhenItsDescriptorIsClosed) {
  boost::asio::io_context ioc(1);
  ready_set set(ioc);
  pair_of_fds p;
  recorder r;
  ASSERT_TRUE(set.add(p.a, r));
  turn(ioc);
  r.seen.clear();
  ASSERT_EQ(::write(p.b, "x", 1), 1);
  // Closing takes the descriptor out of the kernel's set: no epoll_ctl, and
  // the arrival already pending is not reported.
  set.remove(p.a, r, true);
  ::close(p.a);
  p.a = -1;
  turn(ioc);
  EXPECT_TRUE(r.seen.empty());
  EXPECT_EQ(set.size(), 0u);
}

TEST(ReadySet, DeadlinesFireOnceAfterTheirTimeAndCanBeReplacedOrCleared) {
  boost::asio::io_context ioc(1);
  ready_set set(ioc);
  pair_of_fds p[4];
  recorder r[4];
  for (int i = 0; i < 4; ++i) ASSERT_TRUE(set.add(p[i].a, r[i]));
  EXPECT_FALSE(set.ticking());
  auto now = ready_set::clock::now();
  using std::chrono::milliseconds;
  set.set_deadline(r[0], now + milliseconds(50));
  set.set_deadline(r[1], now + milliseconds(50));
  set.clear_deadline(r[1]);  // cleared: never told
  set.set_deadline(r[2], now + milliseconds(10));
  set.set_deadline(r[2], now + milliseconds(1500));  // replaced: later
  // r[3]'s deadline removes r[0] from the set when both are due together.
  set.set_deadline(r[3], now + milliseconds(50));
  r[3].at_deadline = [&] {
    if (r[0].deadlines == 0) set.remove(p[0].a, r[0]);
  };
  r[0].at_deadline = [&] { set.remove(p[3].a, r[3]); };
  EXPECT_TRUE(set.ticking());
  ioc.run_for(milliseconds(400));
  EXPECT_EQ(r[0].deadlines + r[3].deadlines, 1);  // whichever went first removed the other
  EXPECT_EQ(r[1].deadlines, 0);
  EXPECT_EQ(r[2].deadlines, 0);  // not yet
  EXPECT_TRUE(set.ticking());
  while (r[2].deadlines == 0 && ready_set::clock::now() < now + milliseconds(5000)) {
    ioc.restart();
    ioc.run_for(milliseconds(50));
  }
  EXPECT_EQ(r[2].deadlines, 1);
  EXPECT_GE(ready_set::clock::now(), now + milliseconds(1500));  // not before its time
  EXPECT_EQ(set.size(), 3u);
  ioc.restart();
  ioc.run_for(milliseconds(250));
  EXPECT_FALSE(set.ticking());  // nothing pending: the ticker has stopped
  EXPECT_EQ(r[2].deadlines, 1);
  for (int i = 0; i < 4; ++i) set.remove(p[i].a, r[i]);
  EXPECT_EQ(set.size(), 0u);
}

TEST(ReadySet, FlushesComeAtTheEndOfTheTurnInOrderAndARemovalCancelsOne) {
  boost::asio::io_context ioc(1);
  ready_set set(ioc);
  pair_of_fds p1, p2, p3;
  recorder r1, r2, r3;
  ASSERT_TRUE(set.add(p1.a, r1));
  ASSERT_TRUE(set.add(p2.a, r2));
  ASSERT_TRUE(set.add(p3.a, r3));
  turn(ioc);  // the initial EPOLLOUT edges
  std::vector<std::string> log;
  bool again = true;
  r1.at_flush = [&] {
    log.push_back("r1");
    // Asking during a flush is for a later turn, not a nested call.
    if (again) again = false, set.flush_later(r1);
    log.push_back("r1 asked");
  };
  r2.at_flush = [&] { log.push_back("r2"); };
  r3.at_flush = [&] { log.push_back("r3"); };
  boost::asio::post(ioc, [&] {
    log.push_back("a");
    set.flush_later(r1);
    set.flush_later(r2);
    set.flush_later(r1);  // asked already: told once
  });
  boost::asio::post(ioc, [&] {
    log.push_back("b");  // queued before the flush: runs first
    set.flush_later(r3);
    set.remove(p2.a, r2);  // cancels r2's
  });
  turn(ioc);
  EXPECT_EQ(log, (std::vector<std::string>{"a", "b", "r1", "r1 asked", "r3", "r1", "r1 asked"}));
  log.clear();
  turn(ioc);
  EXPECT_TRUE(log.empty());  // each request is told once
  set.remove(p1.a, r1);
  set.remove(p3.a, r3);
}

TEST(ReadySet, AFlushThatThrowsLeavesTheOthersToALaterTurn) {
  boost::asio::io_context ioc(1);
  ready_set set(ioc);
  pair_of_fds p1, p2;
  recorder r1, r2;
  ASSERT_TRUE(set.add(p1.a, r1));
  ASSERT_TRUE(set.add(p2.a, r2));
  int told = 0;
  r1.at_flush = [&] { throw std::runtime_error("r1"); };
  r2.at_flush = [&] { ++told; };
  set.flush_later(r1);
  set.flush_later(r2);
  ioc.restart();
  EXPECT_THROW(ioc.poll(), std::runtime_error);
  EXPECT_EQ(told, 0);
  turn(ioc);
  EXPECT_EQ(told, 1);
  set.remove(p1.a, r1);
  set.remove(p2.a, r2);
}
