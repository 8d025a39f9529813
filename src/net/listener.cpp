#include "net/listener.hpp"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cerrno>
#include <cstring>
#include <stdexcept>

#include "core/log.hpp"
#include "metrics/metrics.hpp"
#include "net/ready_set.hpp"
#include "net/tls_front.hpp"

namespace hf::net {
namespace asio = boost::asio;
using tcp = asio::ip::tcp;

namespace {

using reuse_port = asio::detail::socket_option::boolean<SOL_SOCKET, SO_REUSEPORT>;

// The listening socket waits in the worker's ready set (edge-triggered),
// and connections are taken with accept4 until the backlog is empty: an
// accepted socket is not registered with the io_context (no epoll_ctl, no
// Asio state) until its session has to wait on it.
class tcp_listener final : public listener,
                           public ready_set::watcher,
                           public std::enable_shared_from_this<tcp_listener> {
 public:
  tcp_listener(accept_context& c, const tcp::endpoint& ep, bool first)
      : c_(c), retry_(c.ioc), family_(ep.protocol().family()) {
    boost::system::error_code ec;
    if (first && ep.port() != 0) {
      // A bind without SO_REUSEPORT fails while any other socket listens here.
      tcp::acceptor probe(c.ioc);
      probe.open(ep.protocol(), ec);
      if (!ec) probe.set_option(asio::socket_base::reuse_address(true), ec);
      if (!ec) probe.bind(ep, ec);
      if (ec == asio::error::address_in_use)
        throw std::runtime_error("cannot listen on " + ep.address().to_string() + ":" +
                                 std::to_string(ep.port()) +
                                 ": the port is in use (another server running?)");
      ec.clear();
    }
    // Set up with Asio, then taken out of its reactor: the ready set
    // watches it.
    tcp::acceptor acceptor(c.ioc);
    acceptor.open(ep.protocol(), ec);
    if (!ec) acceptor.set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec) acceptor.set_option(reuse_port(true), ec);
    if (!ec) acceptor.bind(ep, ec);
    if (!ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
    if (!ec) acceptor.non_blocking(true, ec);  // accept4 until EAGAIN, never waits
    if (!ec) fd_ = acceptor.release(ec);
    if (ec)
      throw std::runtime_error("cannot listen on " + ep.address().to_string() + ":" +
                               std::to_string(ep.port()) + ": " + ec.message());
  }
  ~tcp_listener() override {
    leave_set();
    if (fd_ >= 0) ::close(fd_);
  }

  void start() override {
    // The pending connections (if any) are reported at once: an edge.
    if (fd_ >= 0 && c_.ready.add(fd_, *this)) {
      watched_ = true;
      keep_ = shared_from_this();
    } else {
      spdlog::error("cannot watch the listening socket: {}", std::strerror(errno));
    }
  }

  void stop() override {
    leave_set();
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
    retry_.cancel();
  }

  std::uint16_t port() const override {
    sockaddr_storage a{};
    socklen_t len = sizeof a;
    if (fd_ < 0 || ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len) != 0) return 0;
    if (a.ss_family == AF_INET6) return ntohs(reinterpret_cast<const sockaddr_in6&>(a).sin6_port);
    return ntohs(reinterpret_cast<const sockaddr_in&>(a).sin_port);
  }

  // ready_set::watcher
  void on_ready(std::uint32_t) override {
    if (!queued_) accept_some();  // else the posted continuation takes it
  }
  void on_deadline() override {}
  void abandon() override {
    watched_ = false;
    keep_.reset();
  }

 private:
  void leave_set() {
    if (!watched_) return;
    watched_ = false;
    c_.ready.remove(fd_, *this);
    // Released after this turn: this may run inside the listener's own call.
    if (keep_) asio::post(c_.ioc, [k = std::move(keep_)] {});
  }

  // Accepts until the backlog is empty (edge-triggered: the next connection
  // is a new edge), at most accept_batch per turn so that a connection
  // storm does not hold up the worker's other sockets: the rest is taken in
  // a posted continuation.
  static constexpr int accept_batch = 64;
  void accept_some() {
    if (!watched_ || backing_off_) return;
    for (int i = 0; i < accept_batch; ++i) {
      int fd = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd >= 0) {
        on_accept(fd);
        if (!watched_) return;  // stopped meanwhile
        continue;
      }
      int err = errno;
      if (err == EAGAIN || err == EWOULDBLOCK) return;
      if (err == EINTR || err == ECONNABORTED || err == EPROTO) continue;
      // EMFILE/ENFILE/ENOBUFS/ENOMEM: the connection stays in the backlog;
      // back off briefly instead of spinning, then try again.
      spdlog::warn("accept failed: {} (retrying in 100 ms)", std::strerror(err));
      backing_off_ = true;
      retry_.expires_after(std::chrono::milliseconds(100));
      retry_.async_wait([self = shared_from_this()](boost::system::error_code e) {
        self->backing_off_ = false;
        if (!e) self->accept_some();
      });
      return;
    }
    queued_ = true;
    asio::post(c_.ioc, [self = shared_from_this()] {
      self->queued_ = false;
      self->accept_some();
    });
  }

  void on_accept(int fd) {
    std::size_t cap = c_.max_connections;
    if (cap && static_cast<std::size_t>(c_.live_sessions.load()) >= cap) {
      // Over the configured cap: a short 503 written straight away (a new
      // socket has room for it), then close.
      static const std::string full =
          "HTTP/1.1 503 Service Unavailable\r\ncontent-type: text/plain;charset=UTF-8\r\n"
          "connection: close\r\ncontent-length: 19\r\n\r\nService Unavailable";
      [[maybe_unused]] ssize_t n =
          ::send(fd, full.data(), full.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
      ::close(fd);
      c_.metrics.refused(metrics::limit_kind::connections_503);
      core::log_refusal(spdlog::level::warn, "connection refused: 503 (MAX_CONNECTIONS={} reached)",
                        cap);
      return;
    }
    int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    asio::generic::stream_protocol protocol(family_, IPPROTO_TCP);
    if (!c_.tls) return c_.serve({fd, protocol});
    tcp::socket s(c_.ioc);
    boost::system::error_code ec;
    s.assign(family_ == AF_INET6 ? tcp::v6() : tcp::v4(), fd, ec);
    if (ec) return void(::close(fd));
    start_tls_front(c_, std::move(s));
  }

  accept_context& c_;
  int fd_ = -1;  // the listening socket (-1: stopped)
  asio::steady_timer retry_;
  int family_;
  bool watched_ = false;                // in the worker's ready set
  bool backing_off_ = false;            // accept failed for lack of resources: retry_ is waiting
  bool queued_ = false;                 // accepting continues in a posted turn
  std::shared_ptr<tcp_listener> keep_;  // the set's hold while watched
};

}  // namespace

std::shared_ptr<listener> listener::open(accept_context& c, const std::string& host,
                                         std::uint16_t port, bool first) {
  boost::system::error_code ec;
  auto addr = asio::ip::make_address(host, ec);
  tcp::endpoint ep;
  if (!ec) {
    ep = tcp::endpoint(addr, port);
  } else {
    tcp::resolver resolver(c.ioc);
    auto results = resolver.resolve(host, std::to_string(port), ec);
    if (ec || results.empty())
      throw std::runtime_error("cannot resolve HOST '" + host + "': " + ec.message());
    ep = results.begin()->endpoint();
  }
  return std::make_shared<tcp_listener>(c, ep, first);
}

}  // namespace hf::net
