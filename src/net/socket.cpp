#include "net/socket.hpp"

#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <boost/asio/error.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cerrno>
#include <chrono>
#include <memory>

namespace hf::net {
namespace asio = boost::asio;

int release(stream_socket& s) {
  boost::system::error_code ec;
  int fd = s.release(ec);
  if (!ec) return fd;
  s.close(ec);
  return -1;
}

stream_socket adopt(asio::io_context& ioc, detached_socket d) {
  stream_socket s(ioc);
  if (d.fd < 0) return s;
  boost::system::error_code ec;
  s.assign(d.protocol, d.fd, ec);
  if (ec) ::close(d.fd);
  return s;
}

namespace {
// A failed non-blocking call's errno, as Asio reports it.
boost::system::error_code error_of(int err) {
  if (err == EAGAIN || err == EWOULDBLOCK) return asio::error::would_block;
  return {err, asio::error::get_system_category()};
}
}  // namespace

std::size_t send_now(int fd, std::span<const asio::const_buffer> buffers,
                     boost::system::error_code& ec) {
  ec = {};
  // Up to IOV_MAX buffers per call (512 frames: a socket's frames of a busy
  // turn, or a replay, in one call). The array is the thread's: 16 KiB is
  // too much for every caller's stack.
  thread_local std::array<iovec, 1024> iov;
  std::size_t n = std::min(buffers.size(), iov.size());
  for (std::size_t i = 0; i < n; ++i)
    iov[i] = {const_cast<void*>(buffers[i].data()), buffers[i].size()};
  msghdr msg{};
  msg.msg_iov = iov.data();
  msg.msg_iovlen = n;
  ssize_t sent;
  do sent = ::sendmsg(fd, &msg, MSG_DONTWAIT | MSG_NOSIGNAL);
  while (sent < 0 && errno == EINTR);
  if (sent >= 0) return static_cast<std::size_t>(sent);
  ec = error_of(errno);
  return 0;
}

std::size_t receive_now(int fd, void* data, std::size_t size, boost::system::error_code& ec) {
  ec = {};
  ssize_t got;
  do got = ::recv(fd, data, size, MSG_DONTWAIT);
  while (got < 0 && errno == EINTR);
  if (got > 0) return static_cast<std::size_t>(got);
  if (got < 0)
    ec = error_of(errno);
  else if (size)
    ec = asio::error::eof;
  return 0;
}

namespace {

// Longest a peer may keep sending after our last answer.
constexpr auto linger_time = std::chrono::seconds(1);

class lingering : public std::enable_shared_from_this<lingering> {
 public:
  lingering(stream_socket s, std::atomic<long>* live)
      : socket_(std::move(s)), timer_(socket_.get_executor()), live_(live) {
    if (live_) ++*live_;
  }
  ~lingering() {
    if (live_) --*live_;
  }

  void start() {
    boost::system::error_code ec;
    socket_.shutdown(stream_socket::shutdown_send, ec);
    if (ec) return socket_.close(ec), void();
    timer_.expires_after(linger_time);
    timer_.async_wait([self = shared_from_this()](boost::system::error_code e) {
      if (!e) self->socket_.close(e);
    });
    discard();
  }

 private:
  void discard() {
    // One buffer per thread: what is read is thrown away.
    thread_local std::array<char, 16384> sink;
    socket_.async_read_some(asio::buffer(sink),
                            [self = shared_from_this()](boost::system::error_code ec, std::size_t) {
                              if (!ec) return self->discard();
                              self->timer_.cancel();
                              self->socket_.close(ec);
                            });
  }

  stream_socket socket_;
  asio::steady_timer timer_;
  std::atomic<long>* live_;
};

}  // namespace

void linger_close(stream_socket socket, std::atomic<long>* live) {
  if (!socket.is_open()) return;
  std::make_shared<lingering>(std::move(socket), live)->start();
}

}  // namespace hf::net
