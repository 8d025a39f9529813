// The `webhooks` scenario (docs/protocol.md section 14): how many webhook
// events a second the server's sender delivers to a local receiver, and
// what that load does to the latency of ordinary publishes to other users.
//
// The receiver is this program's own: a minimal HTTP/1.1 server on
// loopback (a thread per connection, blocking reads, every POST answered
// 200 with keep-alive), so that its cost is small and known. Events come
// from publishes with `"webhook": true` and `userIds` of users that have
// no socket (each user's envelope is an `unacked` event), sent at a paced
// rate by a few blocking keep-alive connections. The latency is run_rtt's
// open loop, measured alone and then under the event load.
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "clients.hpp"
#include "scenarios.hpp"

namespace hfb {
namespace {

using clock = std::chrono::steady_clock;

int listen_on(std::uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(port);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || ::listen(fd, 128) != 0)
    throw std::runtime_error("webhooks: cannot listen on 127.0.0.1:" + std::to_string(port));
  return fd;
}

int connect_to(std::uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(port);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    ::close(fd);
    return -1;
  }
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return fd;
}

bool write_all(int fd, const std::string& s) {
  std::size_t at = 0;
  while (at < s.size()) {
    ssize_t n = ::send(fd, s.data() + at, s.size() - at, MSG_NOSIGNAL);
    if (n <= 0) return false;
    at += std::size_t(n);
  }
  return true;
}

// Reads one HTTP/1.1 message (head and a content-length body) from `fd`
// into `buf` (which keeps what follows it). Returns the head, or "" at EOF.
std::string read_message(int fd, std::string& buf, std::string* body = nullptr) {
  char chunk[65536];
  for (;;) {
    auto end = buf.find("\r\n\r\n");
    if (end != std::string::npos) {
      std::string head = buf.substr(0, end + 4);
      std::size_t length = 0;
      for (const char* name : {"content-length:", "Content-Length:"})
        if (auto at = head.find(name); at != std::string::npos)
          length = std::stoul(head.substr(at + std::strlen(name)));
      while (buf.size() < end + 4 + length) {
        ssize_t n = ::recv(fd, chunk, sizeof chunk, 0);
        if (n <= 0) return "";
        buf.append(chunk, std::size_t(n));
      }
      if (body) *body = buf.substr(end + 4, length);
      buf.erase(0, end + 4 + length);
      return head;
    }
    ssize_t n = ::recv(fd, chunk, sizeof chunk, 0);
    if (n <= 0) return "";
    buf.append(chunk, std::size_t(n));
  }
}

}  // namespace

struct webhook_receiver::impl {
  int listener = -1;
  std::uint16_t port = 0;
  std::atomic<std::uint64_t> received{0};
  std::atomic<bool> stopping{false};
  std::thread acceptor;
  std::mutex m;
  std::vector<int> fds;
  std::vector<std::thread> readers;
};

webhook_receiver::webhook_receiver(std::uint16_t port) : impl_(std::make_unique<impl>()) {
  auto& m = *impl_;
  m.listener = listen_on(port);
  sockaddr_in a{};
  socklen_t len = sizeof a;
  ::getsockname(m.listener, reinterpret_cast<sockaddr*>(&a), &len);
  m.port = ntohs(a.sin_port);
  m.acceptor = std::thread([&m] {
    for (;;) {
      int fd = ::accept(m.listener, nullptr, nullptr);
      if (fd < 0 || m.stopping) {
        if (fd >= 0) ::close(fd);
        return;
      }
      std::lock_guard lock(m.m);
      m.fds.push_back(fd);
      m.readers.emplace_back([&m, fd] {
        std::string buf;
        static const std::string ok = "HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n";
        while (!read_message(fd, buf).empty()) {
          ++m.received;
          if (!write_all(fd, ok)) return;
        }
      });
    }
  });
}

webhook_receiver::~webhook_receiver() {
  auto& m = *impl_;
  m.stopping = true;
  ::shutdown(m.listener, SHUT_RDWR);
  ::close(m.listener);
  m.acceptor.join();
  std::lock_guard lock(m.m);
  for (int fd : m.fds) ::shutdown(fd, SHUT_RDWR);
  for (auto& t : m.readers) t.join();
  for (int fd : m.fds) ::close(fd);
}

std::uint16_t webhook_receiver::port() const { return impl_->port; }
std::uint64_t webhook_receiver::received() const { return impl_->received; }

boost::json::object run_webhooks(const target& t, const webhook_bench_options& o,
                                 const webhook_receiver& receiver) {
  // Alone: the latency of ordinary publishes.
  boost::json::object alone = run_rtt(t, o.rtt, "webhooks-baseline");

  // Under load: `generators` connections, each pacing its share of the
  // publishes; every publish makes users_per_publish events.
  std::string users;
  for (unsigned u = 0; u < o.users_per_publish; ++u)
    users += (u ? "," : "") + std::string("\"wh-") + std::to_string(u) + "\"";
  std::string body = R"({"type":"wh","webhook":true,"ackTimeoutMs":0,"userIds":[)" + users + "]}";
  std::string request = publish_request(t.host, bench_token(t.secret, "publisher"), body);
  double publishes_per_s = o.events_per_second / o.users_per_publish;
  std::atomic<bool> stop{false};
  std::atomic<std::uint64_t> published{0}, failed{0};
  std::uint64_t received0 = receiver.received();
  std::vector<std::thread> generators;
  auto started = clock::now();
  for (unsigned g = 0; g < o.generators; ++g)
    generators.emplace_back([&, g] {
      int fd = connect_to(t.port);
      if (fd < 0) return void(++failed);
      std::string buf, answer;
      auto every = std::chrono::duration<double>(double(o.generators) / publishes_per_s);
      auto next =
          clock::now() + std::chrono::duration_cast<clock::duration>(every * g / o.generators);
      while (!stop) {
        std::this_thread::sleep_until(next);
        next += std::chrono::duration_cast<clock::duration>(every);
        if (!write_all(fd, request) || read_message(fd, buf, &answer).empty()) {
          ++failed;
          break;
        }
        ++published;
      }
      ::close(fd);
    });
  std::this_thread::sleep_for(std::chrono::duration<double>(o.rtt.warmup));
  std::uint64_t in_window0 = receiver.received();
  auto window0 = clock::now();
  boost::json::object loaded = run_rtt(t, o.rtt, "webhooks-loaded");
  double window = std::chrono::duration<double>(clock::now() - window0).count();
  std::uint64_t in_window = receiver.received() - in_window0;
  stop = true;
  for (auto& g : generators) g.join();
  double generating = std::chrono::duration<double>(clock::now() - started).count();
  std::uint64_t made = published * o.users_per_publish;
  // The rest of the queue drains (bounded: at most 30 s).
  auto drain0 = clock::now();
  while (receiver.received() - received0 < made && clock::now() - drain0 < std::chrono::seconds(30))
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  double drain = std::chrono::duration<double>(clock::now() - drain0).count();

  auto num = [](const boost::json::object& r, const char* k) {
    const auto& v = r.at(k);
    return v.is_double() ? v.get_double() : double(v.to_number<double>());
  };
  boost::json::object r;
  r["scenario"] = "webhooks";
  r["target_events_per_s"] = o.events_per_second;
  r["events_made"] = made;
  r["events_received"] = receiver.received() - received0;
  r["events_per_s_received"] = double(in_window) / window;
  r["events_per_s_made"] = double(made) / generating;
  r["drain_s"] = drain;
  r["rtt_rate"] = o.rtt.rate;
  r["p50_us"] = num(loaded, "p50_us");
  r["p99_us"] = num(loaded, "p99_us");
  r["p99_us_alone"] = num(alone, "p99_us");
  r["p99_added_us"] = num(loaded, "p99_us") - num(alone, "p99_us");
  r["p50_us_alone"] = num(alone, "p50_us");
  r["server_cpu_share"] = num(loaded, "server_cpu_share");
  r["server_cpu_share_alone"] = num(alone, "server_cpu_share");
  r["errors"] = num(loaded, "errors") + num(alone, "errors") + double(failed) +
                double(made > r["events_received"].to_number<std::uint64_t>() ? 1 : 0);
  return r;
}

}  // namespace hfb
