// An own edge-triggered epoll set for one worker's long-lived sockets (the
// WebSockets), itself waited on through the worker's io_context: timers and
// posts stay Asio's, while a socket costs its descriptor and a few pointers
// here instead of Asio's per-descriptor state and a pending operation
// (measured: 279 against 688 bytes per idle socket, docs/performance.md
// "Next to uWebSockets, part 2").
//
// Each socket is added once with EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET
// and never modified: edge-triggered, a watcher is told when bytes arrive
// and when room to write returns, and reads or writes until the call would
// block. Used on the io_context's thread only.
#pragma once

#include <sys/epoll.h>

#include <array>
#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <vector>

namespace hf::net {

class ready_set {
 public:
  using clock = std::chrono::steady_clock;

  // What a socket in the set is told. Called on the io_context's thread.
  class watcher {
   public:
    // `events`: EPOLLIN, EPOLLOUT, EPOLLRDHUP, EPOLLHUP, EPOLLERR, as epoll
    // reported them.
    virtual void on_ready(std::uint32_t events) = 0;
    // The deadline given to set_deadline() has passed (it is cleared
    // first). Called once per deadline.
    virtual void on_deadline() = 0;
    // The set is going away with the watcher still in it (shutdown, the
    // io_context no longer runs): the watcher is already out of the set and
    // must close its descriptor and release what it holds. It may destroy
    // itself.
    virtual void abandon() = 0;
    // The end of the turn in which the watcher asked for it (flush_later).
    virtual void on_flush() {}

   protected:
    ~watcher() = default;
    // flush_later() was called and on_flush() has not come yet.
    bool flush_asked() const noexcept { return flush_asked_; }

   private:
    friend class ready_set;
    // The set's lists of its watchers (for deadlines and abandon): two
    // pointers and a time, rather than a node of a container and a timer
    // per socket.
    watcher* prev_ = nullptr;
    watcher* next_ = nullptr;
    clock::time_point deadline_{};  // the epoch: none (in the set's plain list)
    bool flush_asked_ = false;      // in the flush lists (remove() looks there only then)
  };

  explicit ready_set(boost::asio::io_context& ioc);
  // Abandons every watcher still in the set. Destroy before the io_context.
  ~ready_set();
  ready_set(const ready_set&) = delete;
  ready_set& operator=(const ready_set&) = delete;

  // Adds the non-blocking `fd`, reported to `w` until remove(). False (and
  // errno) when epoll refused it.
  bool add(int fd, watcher& w);

  // Takes `fd` out of the set. `closing`: the caller closes the descriptor
  // next, which takes it out of the kernel's set by itself (no epoll_ctl).
  // Events already fetched for `w` in the current turn are not delivered,
  // so `w` may be destroyed once this returns.
  void remove(int fd, watcher& w, bool closing = false);

  // Tells `w` (in the set) on_deadline() once `at` has passed, within
  // deadline_tick after it; a later call replaces the deadline. Deadlines
  // bound what waits on a peer (a closing handshake, a lingering close), so
  // their precision is coarse: one timer per set ticks while any deadline
  // is pending, instead of one timer per socket (whose every arming costs a
  // timerfd_settime when it is the earliest).
  void set_deadline(watcher& w, clock::time_point at);
  void clear_deadline(watcher& w);

  // Tells `w` (in the set) on_flush() at the end of this turn: after the
  // handlers already queued on the io_context, in one posted handler for
  // every watcher that asked. So what a socket is given during a turn can
  // leave in one write at its end (as uSockets corks a socket), however many
  // publishes gave it something, and a publish is answered before its
  // deliveries are written. Asking again before on_flush changes nothing;
  // a removal cancels it.
  void flush_later(watcher& w);

  // Sockets in the set.
  std::size_t size() const noexcept { return size_; }
  // Some deadline is pending: the ticker runs.
  bool ticking() const noexcept { return ticking_; }

  static constexpr std::chrono::milliseconds deadline_tick{100};

 private:
  void wait();
  void drain();
  void unlink(watcher& w);
  void link(watcher*& head, watcher& w);
  void tick();
  void sweep();
  void end_batch() noexcept;
  void run_flushes();

  boost::asio::posix::stream_descriptor epoll_;
  // One epoll_wait reads at most this many events, and a turn handles one
  // batch (so a busy set cannot starve the io_context's other work: each
  // batch is a bounded amount of work).
  std::array<epoll_event, 256> events_{};
  std::vector<watcher*> removed_;  // during a batch: skip their fetched events
  std::vector<watcher*> due_;      // during a sweep: the watchers whose deadline passed
  // The watchers that asked for on_flush in this turn, and (during
  // run_flushes) the ones being told; a removed one's entry is null. At most
  // one entry per socket in the set.
  std::vector<watcher*> flushes_;
  std::vector<watcher*> flushing_;
  bool in_batch_ = false;
  std::size_t size_ = 0;
  watcher* head_ = nullptr;   // the watchers without a deadline
  watcher* timed_ = nullptr;  // the watchers with one
  boost::asio::steady_timer ticker_;
  bool ticking_ = false;
};

}  // namespace hf::net
