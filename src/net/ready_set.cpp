#include "net/ready_set.hpp"

#include <unistd.h>

#include <algorithm>
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

ready_set::ready_set(asio::io_context& ioc) : epoll_(ioc, make_epoll()) { wait(); }

ready_set::~ready_set() {
  while (head_) {
    watcher* w = head_;
    unlink(*w);
    w->abandon();
  }
}

bool ready_set::add(int fd, watcher& w) {
  epoll_event ev{};
  ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
  ev.data.ptr = &w;
  if (::epoll_ctl(epoll_.native_handle(), EPOLL_CTL_ADD, fd, &ev) != 0) return false;
  w.prev_ = nullptr;
  w.next_ = head_;
  if (head_) head_->prev_ = &w;
  head_ = &w;
  ++size_;
  return true;
}

void ready_set::remove(int fd, watcher& w, bool closing) {
  if (!closing) ::epoll_ctl(epoll_.native_handle(), EPOLL_CTL_DEL, fd, nullptr);
  unlink(w);
  if (in_batch_) removed_.push_back(&w);
}

void ready_set::unlink(watcher& w) {
  if (w.prev_)
    w.prev_->next_ = w.next_;
  else if (head_ == &w)
    head_ = w.next_;
  else
    return;  // not in the set
  if (w.next_) w.next_->prev_ = w.prev_;
  w.prev_ = w.next_ = nullptr;
  --size_;
}

// The set's own descriptor is readable while any socket in it has events;
// Asio reports that (one readiness wait at a time), and drain() reads them.
void ready_set::wait() {
  epoll_.async_wait(asio::posix::stream_descriptor::wait_read,
                    [this](boost::system::error_code ec) {
                      if (ec) return;  // the io_context is going away
                      drain();
                      wait();
                    });
}

void ready_set::drain() {
  for (;;) {
    int n =
        ::epoll_wait(epoll_.native_handle(), events_.data(), static_cast<int>(events_.size()), 0);
    if (n <= 0) return;
    in_batch_ = true;
    for (int i = 0; i < n; ++i) {
      auto* w = static_cast<watcher*>(events_[static_cast<std::size_t>(i)].data.ptr);
      // Removed during this batch (and maybe destroyed): its events are stale.
      if (!removed_.empty() && std::find(removed_.begin(), removed_.end(), w) != removed_.end())
        continue;
      w->on_ready(events_[static_cast<std::size_t>(i)].events);
    }
    in_batch_ = false;
    // The next batch is fetched after these removals: the kernel reports
    // none of their descriptors, and a new watcher at a reused address is
    // not skipped.
    removed_.clear();
    if (static_cast<std::size_t>(n) < events_.size()) return;
  }
}

}  // namespace hf::net
