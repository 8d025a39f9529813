#include "net/ready_set.hpp"

#include <unistd.h>

#include <algorithm>
#include <boost/asio/post.hpp>
#include <stdexcept>

namespace hf::net {
namespace asio = boost::asio;

namespace {
int make_epoll() {
  int fd = ::epoll_create1(EPOLL_CLOEXEC);
  if (fd < 0) throw std::runtime_error("epoll_create1 failed");
  return fd;
}
}  // namespace

ready_set::ready_set(asio::io_context& ioc) : epoll_(ioc, make_epoll()), ticker_(ioc) { wait(); }

ready_set::~ready_set() {
  for (std::vector<watcher*>* list : {&flushes_, &flushing_}) {
    for (watcher* w : *list)
      if (w) w->flush_asked_ = false;
    list->clear();
  }
  for (watcher** list : {&head_, &timed_})
    while (*list) {
      watcher* w = *list;
      unlink(*w);
      w->abandon();
    }
}

bool ready_set::add(int fd, watcher& w) {
  epoll_event ev{};
  ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
  ev.data.ptr = &w;
  if (::epoll_ctl(epoll_.native_handle(), EPOLL_CTL_ADD, fd, &ev) != 0) return false;
  w.deadline_ = {};
  link(head_, w);
  ++size_;
  return true;
}

void ready_set::link(watcher*& head, watcher& w) {
  w.prev_ = nullptr;
  w.next_ = head;
  if (head) head->prev_ = &w;
  head = &w;
}

void ready_set::remove(int fd, watcher& w, bool closing) {
  if (!closing) ::epoll_ctl(epoll_.native_handle(), EPOLL_CTL_DEL, fd, nullptr);
  unlink(w);
  if (in_batch_) removed_.push_back(&w);
  // A flush it asked for is cancelled. The lists hold only this turn's
  // writers, and they are searched only for a socket dropped in the turn it
  // was written to.
  if (!w.flush_asked_) return;
  w.flush_asked_ = false;
  for (std::vector<watcher*>* list : {&flushes_, &flushing_})
    std::replace(list->begin(), list->end(), &w, static_cast<watcher*>(nullptr));
}

void ready_set::flush_later(watcher& w) {
  if (w.flush_asked_) return;
  if (flushes_.empty()) asio::post(epoll_.get_executor(), [this] { run_flushes(); });
  flushes_.push_back(&w);
  w.flush_asked_ = true;
}

void ready_set::run_flushes() {
  flushing_.swap(flushes_);  // who asks from here on is told in the next turn
  // If a watcher throws, the ones after it are told in a turn of their own
  // (each is owed its flush).
  struct rest {
    ready_set& s;
    std::size_t next = 0;
    ~rest() {
      for (std::size_t i = next; i < s.flushing_.size(); ++i)
        if (watcher* w = s.flushing_[i]) {
          w->flush_asked_ = false;
          s.flush_later(*w);
        }
      s.flushing_.clear();
      // After a turn that wrote to very many sockets (a heartbeat sweep's
      // pings), the list does not keep that much memory.
      if (s.flushing_.capacity() > 4096) std::vector<watcher*>().swap(s.flushing_);
    }
  } guard{*this};
  while (guard.next < flushing_.size())
    if (watcher* w = flushing_[guard.next++]) {
      w->flush_asked_ = false;  // from here on, asking is for the next turn
      w->on_flush();
    }
}

void ready_set::unlink(watcher& w) {
  if (w.prev_)
    w.prev_->next_ = w.next_;
  else if (head_ == &w)
    head_ = w.next_;
  else if (timed_ == &w)
    timed_ = w.next_;
  else
    return;  // not in the set
  if (w.next_) w.next_->prev_ = w.prev_;
  w.prev_ = w.next_ = nullptr;
  w.deadline_ = {};
  --size_;
}

void ready_set::set_deadline(watcher& w, clock::time_point at) {
  if (!w.prev_ && head_ != &w && timed_ != &w) return;  // not in the set
  if (w.deadline_ == clock::time_point{}) {
    unlink(w);
    ++size_;
    link(timed_, w);
  }
  w.deadline_ = at;
  if (!ticking_) tick();
}

void ready_set::clear_deadline(watcher& w) {
  if (w.deadline_ == clock::time_point{}) return;
  unlink(w);
  ++size_;
  link(head_, w);
}

// While any deadline is pending, the set's one timer fires every
// deadline_tick and tells the watchers whose deadline has passed.
void ready_set::tick() {
  ticking_ = true;
  ticker_.expires_after(deadline_tick);
  ticker_.async_wait([this](boost::system::error_code ec) {
    if (ec) return;  // the set is going away
    // As for a batch of events: even if a watcher throws, ticking goes on.
    struct again {
      ready_set& s;
      ~again() {
        s.end_batch();
        if (s.timed_)
          s.tick();
        else
          s.ticking_ = false;
      }
    } guard{*this};
    sweep();
  });
}

void ready_set::sweep() {
  clock::time_point now = clock::now();
  due_.clear();
  for (watcher* w = timed_; w;) {
    watcher* next = w->next_;
    if (w->deadline_ <= now) {
      clear_deadline(*w);
      due_.push_back(w);
    }
    w = next;
  }
  // As in a batch of events: a watcher removed by an earlier one's
  // on_deadline (and maybe destroyed) is not told.
  in_batch_ = true;
  for (watcher* w : due_)
    if (removed_.empty() || std::find(removed_.begin(), removed_.end(), w) == removed_.end())
      w->on_deadline();
}

// The set's own descriptor is readable while any socket in it has events;
// Asio reports that (one readiness wait at a time), and drain() reads them.
// One batch per turn: a full batch yields to the io_context's other work,
// and the re-armed wait (Asio re-arms it with EPOLL_CTL_MOD, which reports
// a set that is still ready at once) comes back for the rest.
void ready_set::wait() {
  epoll_.async_wait(asio::posix::stream_descriptor::wait_read,
                    [this](boost::system::error_code ec) {
                      if (ec) return;  // the io_context is going away
                      // Whatever a watcher does (even throw: the worker
                      // survives it), the set ends its batch and waits again.
                      struct again {
                        ready_set& s;
                        ~again() {
                          s.end_batch();
                          s.wait();
                        }
                      } guard{*this};
                      drain();
                    });
}

void ready_set::end_batch() noexcept {
  in_batch_ = false;
  // The next batch is fetched after these removals: the kernel reports
  // none of their descriptors, and a new watcher at a reused address is
  // not skipped.
  removed_.clear();
}

void ready_set::drain() {
  int n = ::epoll_wait(epoll_.native_handle(), events_.data(), static_cast<int>(events_.size()), 0);
  in_batch_ = true;
  for (int i = 0; i < n; ++i) {
    auto* w = static_cast<watcher*>(events_[static_cast<std::size_t>(i)].data.ptr);
    // Removed during this batch (and maybe destroyed): its events are stale.
    if (!removed_.empty() && std::find(removed_.begin(), removed_.end(), w) != removed_.end())
      continue;
    w->on_ready(events_[static_cast<std::size_t>(i)].events);
  }
}

}  // namespace hf::net
