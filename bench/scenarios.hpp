// Benchmark scenarios. Each one drives a running server and returns one JSON
// object of measurements (the suite turns them into JSON lines and a table).
#pragma once

#include <sys/types.h>

#include <boost/json/object.hpp>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace hfb {

struct target {
  std::string host = "127.0.0.1";
  std::uint16_t port = 8787;
  std::uint16_t publish_port = 0;  // publishers connect here (another cluster node); 0 = port
  pid_t server_pid = 0;            // for server CPU and RSS; 0 = not measured
  std::string secret;
  unsigned threads = 2;              // load tool threads
  std::vector<std::string> sources;  // client source addresses (127.0.0.x)
  // idle across a cluster: worker process i connects to ports[i % n]; RSS is
  // summed over pids. Empty: `port` and `server_pid` only.
  std::vector<std::uint16_t> ports;
  std::vector<pid_t> pids;
  // rtt/rate: Redis processes (one redis-server, or a Redis Cluster's
  // masters and replicas) whose CPU per publish is reported.
  std::vector<pid_t> redis_pids;
};

struct rtt_options {
  unsigned users = 1000, sockets = 2, publishers = 32;
  double seconds = 10, warmup = 1;
  double rate = 0;  // > 0: open loop at this many publishes per second
  // Recovery (docs/protocol.md section 7): every socket sends `recover` after its
  // subscribe; with churn > 0, that many sockets a second drop their TCP
  // connection and come back with `recover` from their last position while
  // the publishes go on (answers then may count fewer targets).
  bool recover = false;
  double churn = 0;
  // permessage-deflate offered by every socket; payload_bytes > 0: envelopes
  // carry a chat-like text of that size instead of {"n":1}.
  bool compression = false;
  unsigned payload_bytes = 0;
  // > 0: every socket holds this many filters of the envelopes' type, one
  // of which matches them (the last one in the server's order), so a
  // publish costs the matching of that many filters per socket
  // (MAX_FILTERS_PER_USER must allow sockets x filters).
  unsigned filters = 0;
  // Section 12 of docs/protocol.md: members added to every publish body
  // (",\"receipts\":true", ",\"until\":\"first\"", ...), and the ack delay of
  // each user's k-th socket (ack_delays_ms[k % size]; empty: at once).
  std::string publish_members;
  std::vector<unsigned> ack_delays_ms;
  unsigned until = 0;  // the `until` count asked (0: all): that many results are expected
  // false: sockets never ack and every publish carries "ackTimeoutMs":0, so
  // the answer comes as soon as the envelopes are sent (`fanout-many`, and
  // `fanout --acks 0`: the shape a peer without acks is measured in).
  bool acks = true;
};
boost::json::object run_rtt(const target& t, const rtt_options& o, const std::string& name);

// Section 15 of docs/protocol.md: `users` users with one acking socket each;
// the same envelopes (users x rounds) published as users x rounds single
// publishes, then as `rounds` publishes that each name every user in
// `userIds`. Reports the server's CPU per delivered envelope for both, and
// their ratio.
struct multi_options {
  unsigned users = 1000, rounds = 20;
  unsigned publishers = 32;  // connections for the single publishes (closed loop)
};
boost::json::object run_multi(const target& t, const multi_options& o);

// Section 14 (bench/webhooks.cpp): a local webhook receiver, made before the
// server (whose WEBHOOK_URL names its port), counting the POSTs it answers.
class webhook_receiver {
 public:
  explicit webhook_receiver(std::uint16_t port = 0);  // 0: a free one
  ~webhook_receiver();
  std::uint16_t port() const;
  std::uint64_t received() const;

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};
struct webhook_bench_options {
  double events_per_second = 6000;  // unacked events made by `userIds` publishes
  unsigned users_per_publish = 10;
  unsigned generators = 4;  // paced keep-alive connections making them
  // The ordinary publishes whose latency is measured, alone and under the
  // event load (open loop).
  rtt_options rtt{200, 1, 16, 5, 1, 1000};
};
boost::json::object run_webhooks(const target& t, const webhook_bench_options& o,
                                 const webhook_receiver& receiver);

struct connect_options {
  unsigned count = 10000, concurrency = 64;
};
boost::json::object run_connect(const target& t, const connect_options& o);

struct idle_options {
  unsigned count = 19000, processes = 2;
  std::string self_exe;  // this program, for the worker processes
};
boost::json::object run_idle(const target& t, const idle_options& o);
// The worker side of `idle`: holds `count` sockets of users first_user.. until
// stdin closes. Prints "ready <n>" once connected.
int idle_worker(const target& t, unsigned count, unsigned first_user);

struct floor_result {
  double send_us = 0, recv_us = 0;
  // One send + one recv when the receiver is asleep and must be woken (two
  // threads ping-ponging on loopback): what a real exchange costs.
  double send_recv_wakeup_us = 0;
  // The server side of one connection's kernel work, as in `connect`: accept,
  // the upgrade request read and the 101 written, subscribe read and pong
  // written, a close frame read and written, close; blocking sockets, so
  // each read sleeps and is woken like a server's.
  double connect_us = 0;
};
// Measures the CPU cost of one small send and one recv over loopback TCP.
floor_result measure_floor(unsigned iterations = 20000);
boost::json::object floor_json(const floor_result& f);

// The load tool's mint: HS256 tokens like any backend's.
std::string bench_token(const std::string& secret, const std::string& user);

}  // namespace hfb
