#include "scenarios.hpp"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <deque>
#include <future>
#include <iostream>
#include <mutex>
#include <random>
#include <thread>

#include "auth/jwt.hpp"
#include "clients.hpp"
#include "proc_stats.hpp"

namespace hfb {

namespace {
// CPU seconds used so far by the Redis processes of the target (0 without).
double redis_cpu_seconds(const target& t) {
  double sum = 0;
  for (pid_t p : t.redis_pids) sum += sample_process(p).cpu_seconds;
  return sum;
}
}  // namespace
namespace {

using clock = std::chrono::steady_clock;

// The server's hopeflow_heap_allocations_total (its worker threads' operator
// new calls), read with one blocking GET /metrics; -1 when the server does not
// count (a sanitizer build) or cannot be reached.
double scrape_allocations(const target& t) {
  asio::io_context ioc;
  tcp::socket s(ioc);
  boost::system::error_code ec;
  s.connect(tcp::endpoint(asio::ip::make_address(t.host), t.port), ec);
  if (ec) return -1;
  std::string req = "GET /metrics HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n";
  asio::write(s, asio::buffer(req), ec);
  std::string body;
  char buf[16384];
  for (;;) {
    std::size_t n = s.read_some(asio::buffer(buf), ec);
    body.append(buf, n);
    if (ec) break;
  }
  static constexpr std::string_view name = "\nhopeflow_heap_allocations_total ";
  std::size_t at = body.find(name);
  if (at == std::string::npos) return -1;
  return std::strtod(body.c_str() + at + name.size(), nullptr);
}

// One io_context per thread, run until stop().
class loop_pool {
 public:
  explicit loop_pool(unsigned n) {
    for (unsigned i = 0; i < n; ++i) {
      ctx_.push_back(std::make_unique<asio::io_context>(1));
      guards_.emplace_back(asio::make_work_guard(*ctx_.back()));
    }
    for (auto& c : ctx_) threads_.emplace_back([c = c.get()] { c->run(); });
  }
  ~loop_pool() { stop(); }
  asio::io_context& at(std::size_t i) { return *ctx_[i % ctx_.size()]; }
  std::size_t size() const { return ctx_.size(); }
  void stop() {
    guards_.clear();
    for (auto& c : ctx_) c->stop();
    for (auto& t : threads_)
      if (t.joinable()) t.join();
  }

 private:
  std::vector<std::unique_ptr<asio::io_context>> ctx_;
  std::vector<asio::executor_work_guard<asio::io_context::executor_type>> guards_;
  std::vector<std::thread> threads_;
};

tcp::endpoint server_endpoint(const target& t) {
  return tcp::endpoint(asio::ip::make_address(t.host), t.port);
}

std::optional<asio::ip::address> source_for(const target& t, std::size_t i) {
  if (t.sources.empty()) return std::nullopt;
  return asio::ip::make_address(t.sources[i % t.sources.size()]);
}

std::string user_name(std::size_t u) { return "bench-" + std::to_string(u); }

const std::string subscribe_json = R"({"type":"subscribe","filters":[{"type":"bench"}]})";

// Opens `count` sockets (socket i belongs to user i / per_user) with at most
// `concurrency` handshakes in flight; blocks until all are ready or failed.
struct socket_set {
  std::vector<std::shared_ptr<ws_client>> clients;
  std::vector<std::size_t> context;  // the pool index each client runs on
  std::vector<std::string> tokens;   // per user
  std::size_t failed = 0;
  double seconds = 0;
};
socket_set open_sockets(loop_pool& pool, const target& t, std::size_t count, std::size_t per_user,
                        std::size_t first_user, unsigned concurrency, bool ack,
                        bool close_when_ready = false, bool recover = false,
                        bool compression = false, const std::string& subscribe = subscribe_json,
                        const std::vector<unsigned>& ack_delays_ms = {}) {
  socket_set set;
  set.clients.resize(count);
  set.context.resize(count);
  std::vector<std::string>& tokens = set.tokens;
  tokens.resize((count + per_user - 1) / per_user);
  for (std::size_t u = 0; u < tokens.size(); ++u)
    tokens[u] = bench_token(t.secret, user_name(first_user + u));
  auto ep = server_endpoint(t);
  std::atomic<std::size_t> next{0}, done{0}, failed{0};
  std::promise<void> all_done;
  if (count == 0) all_done.set_value();
  std::function<void(std::size_t)> launch;  // chain: start one, on ready start the next
  launch = [&](std::size_t chain) {
    std::size_t i = next++;
    if (i >= count) return;
    auto& ioc = pool.at(chain);
    auto c = std::make_shared<ws_client>(ioc, tokens[i / per_user], subscribe,
                                         ack ? std::optional<std::string>("1") : std::nullopt);
    if (recover) c->set_recover(R"({"type":"recover"})");
    c->set_compression(compression);
    if (!ack_delays_ms.empty())
      c->set_ack_delay(
          std::chrono::milliseconds(ack_delays_ms[(i % per_user) % ack_delays_ms.size()]));
    set.clients[i] = c;
    set.context[i] = chain % pool.size();
    asio::post(ioc, [&, c, i, chain] {
      c->start(ep, source_for(t, i), [&, c, chain](bool ok) {
        if (!ok) ++failed;
        if (close_when_ready) c->close();
        launch(chain);
        if (++done == count) all_done.set_value();
      });
    });
  };
  auto started = clock::now();
  for (unsigned k = 0; k < std::max(1u, concurrency); ++k) launch(k);
  all_done.get_future().wait();
  set.seconds = std::chrono::duration<double>(clock::now() - started).count();
  set.failed = failed;
  return set;
}

void close_sockets(loop_pool& pool, socket_set& set) {
  std::promise<void> p;
  std::atomic<std::size_t> left{pool.size()};
  for (std::size_t k = 0; k < pool.size(); ++k)
    asio::post(pool.at(k), [&, k] {
      for (std::size_t i = k; i < set.clients.size(); i += pool.size())
        if (set.clients[i] && set.clients[i]->open()) set.clients[i]->close();
      if (--left == 0) p.set_value();
    });
  p.get_future().wait();
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
}

struct latency_stats {
  double p50 = 0, p90 = 0, p99 = 0, p999 = 0, max = 0, mean = 0;
};
latency_stats summarize(std::vector<double>& us) {
  latency_stats s;
  if (us.empty()) return s;
  std::sort(us.begin(), us.end());
  auto at = [&](double q) {
    return us[std::min(us.size() - 1, std::size_t(q * double(us.size())))];
  };
  s.p50 = at(0.50);
  s.p90 = at(0.90);
  s.p99 = at(0.99);
  s.p999 = at(0.999);
  s.max = us.back();
  double sum = 0;
  for (double v : us) sum += v;
  s.mean = sum / double(us.size());
  return s;
}

// Per-thread state of the publishing side.
struct publisher_lane {
  std::vector<std::shared_ptr<http_publisher>> idle;
  std::deque<clock::time_point> backlog;  // open loop: scheduled sends waiting for a connection
  std::vector<double> latencies_us;
  std::uint64_t completed = 0, errors = 0;
  std::unique_ptr<asio::steady_timer> timer;
  clock::time_point next_send;
};

}  // namespace

std::string bench_token(const std::string& secret, const std::string& user) {
  auto now = std::chrono::duration_cast<std::chrono::seconds>(
                 std::chrono::system_clock::now().time_since_epoch())
                 .count();
  return hf::auth::mint_hs256(secret, {{"userId", user}, {"exp", now + 86400}});
}

// `filters` filters per socket: {"type":"bench","room":"r<k>"} and the one
// envelopes match, {"type":"bench","room":"~all"} ('~' sorts last), in
// subscribes of 50 (one per line: ws_client sends each as a frame).
std::string many_filters_subscribe(unsigned filters) {
  std::string out, list;
  for (unsigned k = 0; k < filters; ++k) {
    std::string room = k + 1 == filters ? "~all" : "r" + std::to_string(k);
    list += (list.empty() ? "" : ",") + std::string(R"({"type":"bench","room":")") + room + "\"}";
    if ((k + 1) % 50 == 0 || k + 1 == filters) {
      out += (out.empty() ? "" : "\n") + std::string(R"({"type":"subscribe","filters":[)") + list +
             "]}";
      list.clear();
    }
  }
  return out;
}

boost::json::object run_rtt(const target& t, const rtt_options& o, const std::string& name) {
  loop_pool pool(t.threads);
  auto ep = server_endpoint(t);
  socket_set set =
      open_sockets(pool, t, std::size_t(o.users) * o.sockets, o.sockets, 0, 64, o.acks, false,
                   o.recover, o.compression,
                   o.filters ? many_filters_subscribe(o.filters) : subscribe_json, o.ack_delays_ms);

  // Pre-built requests, one per user (round-robin targets).
  std::string pub_token = bench_token(t.secret, "bench-publisher");
  std::vector<std::string> requests(o.users);
  std::string payload = R"({"n":1})";
  if (o.payload_bytes > 0) {
    // Chat-like text: words from a small vocabulary, as messages repeat words.
    static const char* words[] = {"the",  "quest",   "meet", "at",    "old",
                                  "mill", "before",  "dawn", "bring", "map",
                                  "and",  "lantern", "we",   "leave", "north"};
    std::string text;
    for (unsigned i = 0; text.size() < o.payload_bytes; ++i) {
      text += words[(i * 7 + i / 3) % 15];
      text += ' ';
    }
    text.resize(o.payload_bytes);
    payload = R"({"text":")" + text + R"("})";
  }
  if (o.filters) payload = R"({"room":"~all","n":1})";
  for (unsigned u = 0; u < o.users; ++u)
    requests[u] = publish_request(
        t.host, pub_token,
        R"({"userId":")" + user_name(u) + R"(","type":"bench","payload":)" + payload +
            o.publish_members + (o.acks ? "" : R"(,"ackTimeoutMs":0)") + "}");

  std::vector<publisher_lane> lanes(pool.size());
  tcp::endpoint pub_ep = ep;
  if (t.publish_port) pub_ep.port(t.publish_port);
  std::atomic<unsigned> connected{0}, connect_failed{0};
  std::promise<void> ready;
  for (unsigned i = 0; i < o.publishers; ++i) {
    auto p = std::make_shared<http_publisher>(pool.at(i));
    asio::post(pool.at(i), [&, p, i] {
      p->connect(pub_ep, [&, p, i](bool ok) {
        if (ok)
          lanes[i % lanes.size()].idle.push_back(p);
        else
          ++connect_failed;
        if (++connected == o.publishers) ready.set_value();
      });
    });
  }
  if (o.publishers) ready.get_future().wait();

  std::atomic<bool> measuring{false}, stopping{false};
  std::atomic<std::uint64_t> next_user{0};
  std::atomic<unsigned> lanes_stopped{0};
  std::promise<void> drained;
  auto expect = [&](const http_publisher::answer& a) {
    // A socket may be away (it gets the envelope replayed), drop before it
    // acks, or still be counted while its replacement is already there.
    if (o.churn > 0) return a.ok && a.results <= a.client_count;
    if (!o.acks) return a.ok && a.client_count == long(o.sockets) && a.results == 0;
    long acks = o.until ? std::min<long>(o.until, long(o.sockets)) : long(o.sockets);
    return a.ok && a.client_count == long(o.sockets) && a.results >= acks &&
           a.results <= long(o.sockets);
  };

  // Churn: sockets drop and come back with `recover` from their position.
  std::atomic<std::uint64_t> reconnects{0}, recovered_true{0}, recovered_false{0}, replayed{0};
  std::vector<std::unique_ptr<asio::steady_timer>> churn_timers(pool.size());
  std::function<void(std::size_t)> churn_tick;
  churn_tick = [&](std::size_t k) {
    if (stopping || o.churn <= 0) return;
    thread_local std::minstd_rand pick(static_cast<unsigned>(k) + 1);
    std::size_t i = pick() % set.clients.size();
    for (std::size_t tries = 0; set.context[i] != k && tries < 64; ++tries)
      i = pick() % set.clients.size();
    auto old = set.clients[i];
    if (set.context[i] == k && old && old->open() && old->recovered() >= 0) {
      old->drop();
      auto c = std::make_shared<ws_client>(pool.at(k), set.tokens[i / o.sockets], subscribe_json,
                                           std::optional<std::string>("1"));
      c->set_recover(R"({"type":"recover","epoch":")" + old->epoch() + R"(","offset":)" +
                     std::to_string(old->offset()) + "}");
      set.clients[i] = c;
      c->start(ep, source_for(t, i), [&, c](bool ok) {
        if (!ok) return;
        ++reconnects;
        (c->recovered() == 1 ? recovered_true : recovered_false)++;
        replayed += c->replayed();
      });
    }
    auto& timer = churn_timers[k];
    timer->expires_after(std::chrono::duration_cast<clock::duration>(
        std::chrono::duration<double>(double(pool.size()) / o.churn)));
    timer->async_wait([&, k](boost::system::error_code ec) {
      if (!ec) churn_tick(k);
    });
  };
  if (o.churn > 0)
    for (std::size_t k = 0; k < pool.size(); ++k)
      asio::post(pool.at(k), [&, k] {
        churn_timers[k] = std::make_unique<asio::steady_timer>(pool.at(k));
        churn_tick(k);
      });

  // send_one: on lane k, send from publisher p for a request scheduled at `when`.
  std::function<void(std::size_t, std::shared_ptr<http_publisher>, clock::time_point)> send_one;
  std::function<void(std::size_t, std::shared_ptr<http_publisher>)> on_free;
  send_one = [&](std::size_t k, std::shared_ptr<http_publisher> p, clock::time_point when) {
    const std::string& req = requests[next_user++ % o.users];
    p->send(req, [&, k, p, when](const http_publisher::answer& a) {
      auto& lane = lanes[k];
      if (measuring) {
        lane.latencies_us.push_back(
            std::chrono::duration<double, std::micro>(clock::now() - when).count());
        ++lane.completed;
        if (!expect(a)) {
          ++lane.errors;
          if (std::getenv("HFB_DEBUG"))
            std::fprintf(stderr, "bad answer: status %d clientCount %ld results %ld\n", a.status,
                         a.client_count, a.results);
        }
      }
      on_free(k, p);
    });
  };
  on_free = [&](std::size_t k, std::shared_ptr<http_publisher> p) {
    auto& lane = lanes[k];
    if (stopping) {
      lane.idle.push_back(p);
      return;
    }
    if (o.rate <= 0) return send_one(k, p, clock::now());  // closed loop
    if (!lane.backlog.empty()) {
      auto when = lane.backlog.front();
      lane.backlog.pop_front();
      return send_one(k, p, when);
    }
    lane.idle.push_back(p);
  };

  // Open loop: each lane schedules rate/lanes sends per second on exact times.
  std::function<void(std::size_t)> tick;
  tick = [&](std::size_t k) {
    auto& lane = lanes[k];
    if (stopping) return;
    auto interval = std::chrono::duration_cast<clock::duration>(
        std::chrono::duration<double>(double(lanes.size()) / o.rate));
    auto now = clock::now();
    while (lane.next_send <= now) {
      if (!lane.idle.empty()) {
        auto p = lane.idle.back();
        lane.idle.pop_back();
        send_one(k, p, lane.next_send);
      } else if (lane.backlog.size() < 1'000'000) {
        lane.backlog.push_back(lane.next_send);
      }
      lane.next_send += interval;
    }
    lane.timer->expires_at(lane.next_send);
    lane.timer->async_wait([&, k](boost::system::error_code ec) {
      if (!ec) tick(k);
    });
  };

  for (std::size_t k = 0; k < lanes.size(); ++k)
    asio::post(pool.at(k), [&, k] {
      auto& lane = lanes[k];
      if (o.rate > 0) {
        lane.timer = std::make_unique<asio::steady_timer>(pool.at(k));
        lane.next_send = clock::now();
        tick(k);
      } else {
        auto idle = std::move(lane.idle);
        lane.idle.clear();
        for (auto& p : idle) send_one(k, p, clock::now());
      }
    });

  std::this_thread::sleep_for(std::chrono::duration<double>(o.warmup));
  // Two scrapes back to back: the second minus the first is what one scrape
  // itself allocates, taken off the measurement below.
  double alloc_a = scrape_allocations(t);
  double alloc0 = scrape_allocations(t);
  auto srv0 = sample_process(t.server_pid);
  double redis0 = redis_cpu_seconds(t);
  double self0 = self_cpu_seconds();
  auto t0 = clock::now();
  measuring = true;
  std::this_thread::sleep_for(std::chrono::duration<double>(o.seconds));
  measuring = false;
  double elapsed = std::chrono::duration<double>(clock::now() - t0).count();
  auto srv1 = sample_process(t.server_pid);
  double redis1 = redis_cpu_seconds(t);
  double self1 = self_cpu_seconds();
  double alloc1 = scrape_allocations(t);
  stopping = true;
  for (std::size_t k = 0; k < lanes.size(); ++k)
    asio::post(pool.at(k), [&, k] {
      if (lanes[k].timer) lanes[k].timer->cancel();
      if (k < churn_timers.size() && churn_timers[k]) churn_timers[k]->cancel();
      if (++lanes_stopped == lanes.size()) drained.set_value();
    });
  drained.get_future().wait();
  // Let in-flight publishes finish (each is bounded by the server's ack deadline).
  std::this_thread::sleep_for(std::chrono::milliseconds(300));

  std::vector<double> all;
  std::uint64_t completed = 0, errors = 0;
  std::size_t backlog = 0;
  std::promise<void> gathered;
  std::atomic<std::size_t> left{lanes.size()};
  for (std::size_t k = 0; k < lanes.size(); ++k)
    asio::post(pool.at(k), [&, k] {
      static std::mutex m;
      std::lock_guard lock(m);
      all.insert(all.end(), lanes[k].latencies_us.begin(), lanes[k].latencies_us.end());
      completed += lanes[k].completed;
      errors += lanes[k].errors;
      backlog += lanes[k].backlog.size();
      if (--left == 0) gathered.set_value();
    });
  gathered.get_future().wait();
  close_sockets(pool, set);
  pool.stop();
  std::uint64_t bytes_in = 0, envelopes_in = 0, compressed_in = 0;
  for (const auto& c : set.clients)
    if (c)
      bytes_in += c->bytes_in(), envelopes_in += c->envelopes(), compressed_in += c->compressed();

  auto lat = summarize(all);
  double server_cpu = srv1.cpu_seconds - srv0.cpu_seconds;
  double deliveries = double(completed) * o.sockets;
  boost::json::object r;
  r["scenario"] = name;
  r["users"] = o.users;
  r["sockets_per_user"] = o.sockets;
  r["publishers"] = o.publishers;
  if (o.rate > 0) r["target_rate"] = o.rate;
  r["seconds"] = elapsed;
  r["publishes"] = completed;
  r["publishes_per_s"] = double(completed) / elapsed;
  r["deliveries_per_s"] = deliveries / elapsed;
  r["errors"] = errors + connect_failed.load() + set.failed;
  r["unsent_backlog"] = backlog;
  r["p50_us"] = lat.p50;
  r["p90_us"] = lat.p90;
  r["p99_us"] = lat.p99;
  r["p999_us"] = lat.p999;
  r["max_us"] = lat.max;
  r["server_cpu_s"] = server_cpu;
  r["server_cpu_us_per_publish"] = completed ? server_cpu * 1e6 / double(completed) : 0.0;
  r["server_cpu_ms_per_1k_publishes"] = completed ? server_cpu * 1e6 / double(completed) : 0.0;
  r["server_cpu_ms_per_1k_deliveries"] = deliveries ? server_cpu * 1e6 / deliveries : 0.0;
  r["server_cpu_us_per_delivery"] = deliveries ? server_cpu * 1e6 / deliveries : 0.0;
  r["acks"] = o.acks;
  r["server_peak_rss_kib"] = srv1.hwm_kib;
  r["server_rss_kib"] = srv1.rss_kib;
  if (!t.redis_pids.empty() && completed) {
    r["redis_cpu_us_per_publish"] = (redis1 - redis0) * 1e6 / double(completed);
    r["redis_cpu_share"] = (redis1 - redis0) / elapsed;
  }
  r["client_cpu_s"] = self1 - self0;
  r["client_cpu_share"] = (self1 - self0) / elapsed;
  r["server_cpu_share"] = server_cpu / elapsed;
  // Syscalls the server cannot avoid per publish without coalescing:
  // K envelope sends + 1 answer send; 1 request read + K ack reads.
  if (o.recover) r["recover"] = true;
  if (o.compression) r["compression"] = true;
  if (o.payload_bytes) r["payload_bytes"] = o.payload_bytes;
  if (o.filters) r["filters_per_socket"] = o.filters;
  if (alloc_a >= 0 && alloc1 >= 0 && completed) {
    double allocs = std::max(0.0, alloc1 - alloc0 - (alloc0 - alloc_a));
    r["heap_allocations_per_publish"] = allocs / double(completed);
    r["heap_allocations_per_delivery"] = deliveries ? allocs / deliveries : 0.0;
  }
  r["wire_bytes_per_envelope"] = envelopes_in ? double(bytes_in) / double(envelopes_in) : 0.0;
  r["compressed_share"] = envelopes_in ? double(compressed_in) / double(envelopes_in) : 0.0;
  if (o.churn > 0) {
    r["churn_per_s"] = o.churn;
    r["reconnects"] = reconnects.load();
    r["recovered_true"] = recovered_true.load();
    r["recovered_false"] = recovered_false.load();
    r["replayed"] = replayed.load();
  }
  r["floor_sends"] = o.sockets + 1;
  r["floor_recvs"] = o.acks ? o.sockets + 1 : 1;
  return r;
}

namespace {

// Sends `total` requests (requests[i % size]) over `publishers` keep-alive
// connections, each one at a time, and waits for every answer. Returns the
// wall time and counts the answers `good` refuses.
struct phase_result {
  double seconds = 0, server_cpu_s = 0;
  std::uint64_t errors = 0;
};
phase_result run_phase(loop_pool& pool, const target& t, const std::vector<std::string>& requests,
                       std::uint64_t total, unsigned publishers,
                       const std::function<bool(const http_publisher::answer&)>& good) {
  phase_result r;
  auto ep = server_endpoint(t);
  if (t.publish_port) ep.port(t.publish_port);
  std::atomic<std::uint64_t> next{0}, answered{0}, errors{0};
  std::promise<void> done;
  std::vector<std::shared_ptr<http_publisher>> conns;
  std::promise<void> connected;
  std::atomic<unsigned> up{0};
  for (unsigned i = 0; i < publishers; ++i) {
    auto p = std::make_shared<http_publisher>(pool.at(i));
    conns.push_back(p);
    asio::post(pool.at(i), [&, p] {
      p->connect(ep, [&](bool ok) {
        if (!ok) ++errors;
        if (++up == publishers) connected.set_value();
      });
    });
  }
  connected.get_future().wait();
  std::function<void(std::shared_ptr<http_publisher>)> send;
  send = [&](std::shared_ptr<http_publisher> p) {
    std::uint64_t i = next++;
    if (i >= total) return;
    p->send(requests[i % requests.size()], [&, p](const http_publisher::answer& a) {
      if (!good(a)) ++errors;
      send(p);  // before the count: once the last is counted, run_phase may return
      if (++answered == total) done.set_value();
    });
  };
  // Every node of a cluster (--server-pids) does part of the work.
  auto server_cpu = [&t] {
    if (t.pids.empty()) return sample_process(t.server_pid).cpu_seconds;
    double sum = 0;
    for (pid_t p : t.pids) sum += sample_process(p).cpu_seconds;
    return sum;
  };
  double cpu0 = server_cpu();
  auto t0 = clock::now();
  if (total == 0) done.set_value();
  for (unsigned i = 0; i < publishers; ++i) asio::post(pool.at(i), [&, i] { send(conns[i]); });
  done.get_future().wait();
  r.seconds = std::chrono::duration<double>(clock::now() - t0).count();
  r.server_cpu_s = server_cpu() - cpu0;
  r.errors = errors;
  // The connections close on their own threads.
  std::promise<void> closed;
  std::atomic<unsigned> left{publishers};
  for (unsigned i = 0; i < publishers; ++i)
    asio::post(pool.at(i), [&, i] {
      conns[i].reset();
      if (--left == 0) closed.set_value();
    });
  if (publishers) closed.get_future().wait();
  return r;
}

}  // namespace

boost::json::object run_multi(const target& t, const multi_options& o) {
  loop_pool pool(t.threads);
  socket_set set = open_sockets(pool, t, o.users, 1, 0, 64, true);
  std::string pub_token = bench_token(t.secret, "bench-publisher");
  std::vector<std::string> singles(o.users);
  std::string ids;
  for (unsigned u = 0; u < o.users; ++u) {
    singles[u] =
        publish_request(t.host, pub_token,
                        R"({"userId":")" + user_name(u) + R"(","type":"bench","payload":{"n":1}})");
    ids += (u ? ",\"" : "\"") + user_name(u) + "\"";
  }
  std::vector<std::string> many = {publish_request(
      t.host, pub_token, R"({"userIds":[)" + ids + R"(],"type":"bench","payload":{"n":1}})")};
  long n = long(o.users);
  auto one = [](const http_publisher::answer& a) {
    return a.ok && a.client_count == 1 && a.results == 1;
  };
  auto all = [n](const http_publisher::answer& a) {
    return a.ok && a.client_count == n && a.results == n;
  };
  // A short warm-up of each kind (thread caches, the token cache, the pool).
  run_phase(pool, t, singles, std::min<std::uint64_t>(o.users, 200), o.publishers, one);
  run_phase(pool, t, many, 1, 1, all);
  std::uint64_t envelopes = std::uint64_t(o.users) * o.rounds;
  phase_result single = run_phase(pool, t, singles, envelopes, o.publishers, one);
  // One userIds publish at a time: each already keeps every shard busy.
  phase_result multi = run_phase(pool, t, many, o.rounds, 1, all);
  close_sockets(pool, set);
  pool.stop();

  double single_us = envelopes ? single.server_cpu_s * 1e6 / double(envelopes) : 0.0;
  double multi_us = envelopes ? multi.server_cpu_s * 1e6 / double(envelopes) : 0.0;
  boost::json::object r;
  r["scenario"] = "multi";
  r["users"] = o.users;
  r["rounds"] = o.rounds;
  r["publishers"] = o.publishers;
  r["envelopes"] = envelopes;
  r["single_seconds"] = single.seconds;
  r["multi_seconds"] = multi.seconds;
  r["single_envelopes_per_s"] = single.seconds ? double(envelopes) / single.seconds : 0.0;
  r["multi_envelopes_per_s"] = multi.seconds ? double(envelopes) / multi.seconds : 0.0;
  r["single_server_cpu_us_per_envelope"] = single_us;
  r["multi_server_cpu_us_per_envelope"] = multi_us;
  // The target: a userIds publish costs at most 1.3 times as much per envelope.
  r["multi_to_single_ratio"] = single_us > 0 ? multi_us / single_us : 0.0;
  r["errors"] = single.errors + multi.errors + set.failed;
  return r;
}

boost::json::object run_connect(const target& t, const connect_options& o) {
  loop_pool pool(t.threads);
  auto srv0 = sample_process(t.server_pid);
  double self0 = self_cpu_seconds();
  socket_set set = open_sockets(pool, t, o.count, 1, 0, o.concurrency, false, true);
  auto srv1 = sample_process(t.server_pid);
  double self1 = self_cpu_seconds();
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  pool.stop();
  double server_cpu = srv1.cpu_seconds - srv0.cpu_seconds;
  boost::json::object r;
  r["scenario"] = "connect";
  r["connections"] = o.count;
  r["concurrency"] = o.concurrency;
  r["seconds"] = set.seconds;
  r["connections_per_s"] = double(o.count) / set.seconds;
  r["errors"] = set.failed;
  r["server_cpu_s"] = server_cpu;
  r["server_cpu_us_per_connection"] = server_cpu * 1e6 / double(o.count);
  r["server_peak_rss_kib"] = srv1.hwm_kib;
  r["client_cpu_s"] = self1 - self0;
  r["client_cpu_share"] = (self1 - self0) / set.seconds;
  r["server_cpu_share"] = server_cpu / set.seconds;
  return r;
}

int idle_worker(const target& t, unsigned count, unsigned first_user) {
  raise_fd_limit();
  loop_pool pool(1);
  socket_set set = open_sockets(pool, t, count, 1, first_user, 128, false);
  std::printf("ready %zu %zu\n", count - set.failed, set.failed);
  std::fflush(stdout);
  char buf[64];
  while (::read(0, buf, sizeof buf) > 0) {
  }
  pool.stop();
  return 0;
}

namespace {
// Server RSS over every node of the target (one node unless t.pids is set).
proc_sample sample_servers(const target& t) {
  if (t.pids.empty()) return sample_process(t.server_pid);
  proc_sample sum;
  for (pid_t p : t.pids) {
    auto s = sample_process(p);
    sum.rss_kib += s.rss_kib;
    sum.hwm_kib += s.hwm_kib;
    sum.cpu_seconds += s.cpu_seconds;
  }
  return sum;
}
}  // namespace

boost::json::object run_idle(const target& t, const idle_options& o) {
  auto before = sample_servers(t);
  std::vector<FILE*> outs;
  std::vector<int> stdins;
  std::vector<pid_t> pids;
  auto started = clock::now();
  unsigned per = (o.count + o.processes - 1) / o.processes;
  for (unsigned i = 0; i < o.processes; ++i) {
    unsigned first = i * per, n = std::min(per, o.count - std::min(o.count, first));
    if (n == 0) break;
    int in[2], out[2];
    if (pipe(in) != 0 || pipe(out) != 0) break;
    std::string src = t.sources.empty() ? "" : t.sources[i % t.sources.size()];
    pid_t pid = fork();
    if (pid == 0) {
      dup2(in[0], 0);
      dup2(out[1], 1);
      close(in[1]);
      close(out[0]);
      std::vector<std::string> args = {
          o.self_exe,     "idle-worker",
          "--host",       t.host,
          "--port",       std::to_string(t.ports.empty() ? t.port : t.ports[i % t.ports.size()]),
          "--secret",     t.secret,
          "--count",      std::to_string(n),
          "--first-user", std::to_string(first)};
      if (!src.empty()) {
        args.push_back("--sources");
        args.push_back(src);
      }
      std::vector<char*> argv;
      for (auto& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      execv(o.self_exe.c_str(), argv.data());
      _exit(127);
    }
    close(in[0]);
    close(out[1]);
    pids.push_back(pid);
    stdins.push_back(in[1]);
    outs.push_back(fdopen(out[0], "r"));
  }
  std::size_t ok = 0, failed = 0;
  for (FILE* f : outs) {
    std::size_t a = 0, b = 0;
    if (std::fscanf(f, "ready %zu %zu", &a, &b) == 2) {
      ok += a;
      failed += b;
    }
  }
  double seconds = std::chrono::duration<double>(clock::now() - started).count();
  std::this_thread::sleep_for(std::chrono::milliseconds(500));  // let the server settle
  auto after = sample_servers(t);
  for (int fd : stdins) close(fd);
  for (pid_t p : pids) waitpid(p, nullptr, 0);
  for (FILE* f : outs) std::fclose(f);

  boost::json::object r;
  r["scenario"] = "idle";
  r["sockets"] = ok;
  r["errors"] = failed;
  r["processes"] = pids.size();
  r["connect_seconds"] = seconds;
  r["server_rss_before_kib"] = before.rss_kib;
  r["server_rss_after_kib"] = after.rss_kib;
  r["server_bytes_per_socket"] =
      ok ? double(after.rss_kib - before.rss_kib) * 1024.0 / double(ok) : 0.0;
  r["server_peak_rss_kib"] = after.hwm_kib;
  return r;
}

floor_result measure_floor(unsigned iterations) {
  // A connected loopback TCP pair, NODELAY like the server's sockets.
  int lst = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  ::bind(lst, reinterpret_cast<sockaddr*>(&a), sizeof a);
  ::listen(lst, 1);
  ::getsockname(lst, reinterpret_cast<sockaddr*>(&a), &len);
  int tx = ::socket(AF_INET, SOCK_STREAM, 0);
  ::connect(tx, reinterpret_cast<sockaddr*>(&a), sizeof a);
  int rx = ::accept(lst, nullptr, nullptr);
  int one = 1;
  ::setsockopt(tx, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  ::setsockopt(rx, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  char msg[120];
  std::memset(msg, 'x', sizeof msg);
  char sink[1 << 16];
  auto thread_cpu = [] {
    timespec ts{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return double(ts.tv_sec) + double(ts.tv_nsec) / 1e9;
  };
  double send_cpu = 0, recv_cpu = 0;
  constexpr unsigned batch = 32;
  for (unsigned done = 0; done < iterations; done += batch) {
    double t0 = thread_cpu();
    for (unsigned i = 0; i < batch; ++i) ::send(tx, msg, sizeof msg, 0);
    send_cpu += thread_cpu() - t0;
    // One recv per message, each with its data already there (a ping-pong
    // peer's reads look like this after epoll said "readable").
    for (unsigned i = 0; i < batch; ++i) {
      double r0 = thread_cpu();
      ssize_t n = ::recv(rx, sink, sizeof msg, 0);
      recv_cpu += thread_cpu() - r0;
      if (n <= 0) break;
    }
  }
  // Ping-pong between two threads with blocking sockets: every send wakes a
  // sleeping receiver, as in a real publish.
  const unsigned rounds = iterations / 4;
  std::atomic<double> peer_cpu{0};
  std::thread peer([&] {
    char b[sizeof msg];
    for (unsigned i = 0; i < rounds; ++i) {
      if (::recv(rx, b, sizeof b, MSG_WAITALL) <= 0) break;
      ::send(rx, b, sizeof b, 0);
    }
    peer_cpu = thread_cpu();
  });
  double a0 = thread_cpu();
  for (unsigned i = 0; i < rounds; ++i) {
    ::send(tx, msg, sizeof msg, 0);
    if (::recv(tx, sink, sizeof msg, MSG_WAITALL) <= 0) break;
  }
  double mine = thread_cpu() - a0;
  peer.join();
  ::close(tx);
  ::close(rx);
  // Connections: a client thread connects and talks like the connect
  // scenario's clients; this thread serves them and counts its own CPU.
  const unsigned conns = std::max(200u, iterations / 25);
  std::thread client([&] {
    char request[300], small[8], reply[160];
    std::memset(request, 'r', sizeof request);
    std::memset(small, 's', sizeof small);
    for (unsigned i = 0; i < conns; ++i) {
      int c = ::socket(AF_INET, SOCK_STREAM, 0);
      ::setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      if (::connect(c, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
        ::close(c);
        break;
      }
      ::send(c, request, sizeof request, 0);
      ::recv(c, reply, 130, MSG_WAITALL);
      ::send(c, small, sizeof small, 0);
      ::recv(c, reply, 6, MSG_WAITALL);
      ::send(c, small, 6, 0);
      ::recv(c, reply, 4, MSG_WAITALL);
      ::close(c);
    }
  });
  ::listen(lst, 64);
  double c0 = thread_cpu();
  for (unsigned i = 0; i < conns; ++i) {
    int s = ::accept(lst, nullptr, nullptr);
    if (s < 0) break;
    ::setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    char buf[512], reply[160];
    std::memset(reply, 'h', sizeof reply);
    ::recv(s, buf, 300, MSG_WAITALL);
    ::send(s, reply, 130, 0);
    ::recv(s, buf, 8, MSG_WAITALL);
    ::send(s, reply, 6, 0);
    ::recv(s, buf, 6, MSG_WAITALL);
    ::send(s, reply, 4, 0);
    ::recv(s, buf, sizeof buf, 0);  // the client's FIN
    ::close(s);
  }
  double connect_cpu = thread_cpu() - c0;
  client.join();
  ::close(lst);
  return {send_cpu * 1e6 / iterations, recv_cpu * 1e6 / iterations,
          (mine + peer_cpu.load()) * 1e6 / (2.0 * rounds), connect_cpu * 1e6 / conns};
}

boost::json::object floor_json(const floor_result& f) {
  boost::json::object r;
  r["scenario"] = "floor";
  r["send_us"] = f.send_us;
  r["recv_us"] = f.recv_us;
  r["send_recv_wakeup_us"] = f.send_recv_wakeup_us;
  r["connect_us"] = f.connect_us;
  return r;
}

}  // namespace hfb
