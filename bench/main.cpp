// hopeflow-bench: the load tool. `hopeflow-bench suite` starts the server
// for each scenario, runs the default suite and writes JSON lines and a
// markdown table; the other subcommands run one scenario against a server
// that is already running.
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/json/serialize.hpp>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>
#include <thread>

#include "core/js_json.hpp"
#include "proc_stats.hpp"
#include "scenarios.hpp"

extern char** environ;

namespace hfb {
namespace {

using args_map = std::map<std::string, std::string>;

args_map parse_args(int argc, char** argv, int first) {
  args_map m;
  for (int i = first; i < argc; ++i) {
    std::string a = argv[i];
    if (a.rfind("--", 0) != 0) continue;
    std::string key = a.substr(2), value = "1";
    if (auto eq = key.find('='); eq != std::string::npos) {
      value = key.substr(eq + 1);
      key = key.substr(0, eq);
    } else if (i + 1 < argc && std::string(argv[i + 1]).rfind("--", 0) != 0) {
      value = argv[++i];
    }
    m[key] = value;
  }
  return m;
}

double num(const args_map& a, const std::string& k, double def) {
  auto it = a.find(k);
  return it == a.end() ? def : std::stod(it->second);
}
std::string str(const args_map& a, const std::string& k, const std::string& def) {
  auto it = a.find(k);
  return it == a.end() ? def : it->second;
}

std::vector<std::string> split(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  for (std::string item; std::getline(ss, item, ',');)
    if (!item.empty()) out.push_back(item);
  return out;
}

std::vector<std::string> default_sources() {
  std::vector<std::string> v;
  for (int i = 2; i <= 9; ++i) v.push_back("127.0.0." + std::to_string(i));
  return v;
}

target target_from(const args_map& a) {
  target t;
  t.host = str(a, "host", "127.0.0.1");
  t.port = static_cast<std::uint16_t>(num(a, "port", 8787));
  t.publish_port = static_cast<std::uint16_t>(num(a, "publish-port", 0));
  t.server_pid = static_cast<pid_t>(num(a, "server-pid", 0));
  const char* env = std::getenv("JWT_SECRET");
  t.secret = str(a, "secret", env ? env : "");
  t.threads = static_cast<unsigned>(num(a, "threads", 2));
  if (a.count("sources")) t.sources = split(a.at("sources"));
  if (a.count("ports"))
    for (const auto& p : split(a.at("ports")))
      t.ports.push_back(static_cast<std::uint16_t>(std::stoi(p)));
  if (a.count("redis-pids"))
    for (const auto& p : split(a.at("redis-pids")))
      t.redis_pids.push_back(static_cast<pid_t>(std::stoi(p)));
  if (a.count("server-pids"))
    for (const auto& p : split(a.at("server-pids")))
      t.pids.push_back(static_cast<pid_t>(std::stoi(p)));
  return t;
}

// A server started for one scenario: its own secret, a free port, stderr to a log file.
struct server_process {
  pid_t pid = 0;
  std::uint16_t port = 0;
  std::string secret;

  static server_process start(const std::string& exe, const std::string& log, unsigned threads,
                              const std::vector<std::string>& extra_env = {}) {
    server_process s;
    s.secret = "bench-secret-" + std::to_string(::getpid()) + "-0123456789abcdefghij";
    std::vector<std::string> env = {"JWT_SECRET=" + s.secret, "PORT=0",
                                    "HOST=127.0.0.1",         "ENV_FILE=",
                                    "LOG_LEVEL=info",         "THREADS=" + std::to_string(threads)};
    env.insert(env.end(), extra_env.begin(), extra_env.end());
    std::vector<char*> envp;
    for (auto& e : env) envp.push_back(e.data());
    envp.push_back(nullptr);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 2, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    std::string exe_copy = exe;
    char* argv[] = {exe_copy.data(), nullptr};
    if (posix_spawn(&s.pid, exe.c_str(), &fa, nullptr, argv, envp.data()) != 0)
      throw std::runtime_error("cannot start " + exe);
    posix_spawn_file_actions_destroy(&fa);
    for (int i = 0; i < 500 && !s.port; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
      std::ifstream in(log);
      std::string text((std::istreambuf_iterator<char>(in)), {});
      auto at = text.find("listening on ");
      if (at == std::string::npos) continue;
      auto colon = text.find(':', at + 13);
      s.port = static_cast<std::uint16_t>(std::stoi(text.substr(colon + 1)));
    }
    if (!s.port) throw std::runtime_error("server did not start; see " + log);
    return s;
  }
  void stop() {
    if (pid <= 0) return;
    ::kill(pid, SIGTERM);
    waitpid(pid, nullptr, 0);
    pid = 0;
  }
};

std::string fmt(double v, int digits = 1) {
  char b[64];
  std::snprintf(b, sizeof b, "%.*f", digits, v);
  return b;
}
double get(const boost::json::object& o, const char* k) {
  auto* v = o.if_contains(k);
  if (!v) return 0;
  if (v->is_double()) return v->get_double();
  if (v->is_int64()) return double(v->get_int64());
  if (v->is_uint64()) return double(v->get_uint64());
  return 0;
}

std::string markdown(const std::vector<boost::json::object>& rows, const floor_result& fl) {
  std::ostringstream md;
  md << "Syscall floor on this machine: one small loopback `send` " << fmt(fl.send_us, 2)
     << " µs, one `recv` " << fmt(fl.recv_us, 2) << " µs of CPU; a send+recv pair that wakes "
     << "a sleeping peer " << fmt(fl.send_recv_wakeup_us, 2) << " µs; a connection's "
     << "server-side kernel work (accept, 3 reads, 3 writes, close) " << fmt(fl.connect_us, 1)
     << " µs.\n\n";
  md << "| scenario | size | throughput | p50 | p99 | p99.9 | max | server CPU / op | × floor | "
        "× floor with wake-ups | server peak RSS | load-tool CPU | errors |\n";
  md << "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n";
  for (const auto& r : rows) {
    std::string s = r.at("scenario").as_string().c_str();
    if (s == "floor") continue;
    md << "| " << s << " | ";
    if (s == "connect") {
      md << get(r, "connections") << " conns, " << get(r, "concurrency") << " at once | "
         << fmt(get(r, "connections_per_s"), 0) << " conn/s | | | | | "
         << fmt(get(r, "server_cpu_us_per_connection")) << " µs/conn | | "
         << fmt(get(r, "server_cpu_us_per_connection") / fl.connect_us, 2) << "× | "
         << fmt(get(r, "server_peak_rss_kib") / 1024) << " MiB | "
         << fmt(get(r, "client_cpu_share") * 100, 0) << "% | " << get(r, "errors") << " |\n";
    } else if (s == "multi") {
      md << get(r, "users") << " users×1, " << get(r, "rounds") << " rounds | "
         << fmt(get(r, "single_envelopes_per_s"), 0) << " env/s single, "
         << fmt(get(r, "multi_envelopes_per_s"), 0) << " env/s userIds | | | | | "
         << fmt(get(r, "single_server_cpu_us_per_envelope"), 2) << " µs/envelope single, "
         << fmt(get(r, "multi_server_cpu_us_per_envelope"), 2) << " userIds ("
         << fmt(get(r, "multi_to_single_ratio"), 2) << "×) | | | | | " << get(r, "errors")
         << " |\n";
    } else if (s == "webhooks") {
      md << fmt(get(r, "target_events_per_s"), 0) << " events/s offered, publishes at "
         << fmt(get(r, "rtt_rate"), 0) << "/s meanwhile | "
         << fmt(get(r, "events_per_s_received"), 0) << " events/s received, drained in "
         << fmt(get(r, "drain_s"), 1) << " s | " << fmt(get(r, "p50_us") / 1000, 2) << " ms | "
         << fmt(get(r, "p99_us") / 1000, 2) << " ms (alone "
         << fmt(get(r, "p99_us_alone") / 1000, 2) << ") | | | | | | | | " << get(r, "errors")
         << " |\n";
    } else if (s == "idle") {
      md << get(r, "sockets") << " sockets, " << get(r, "processes") << " client procs | | | | | | "
         << fmt(get(r, "server_bytes_per_socket"), 0) << " B RSS/socket | | | | "
         << fmt(get(r, "server_peak_rss_kib") / 1024) << " MiB | | " << get(r, "errors") << " |\n";
    } else {
      double k = get(r, "sockets_per_user");
      bool fan = s.rfind("fanout", 0) == 0;
      double floor_pub = get(r, "floor_sends") * fl.send_us + get(r, "floor_recvs") * fl.recv_us;
      double per_pub = get(r, "server_cpu_us_per_publish");
      double per_del = get(r, "server_cpu_ms_per_1k_deliveries");
      bool acks = !r.contains("acks") || r.at("acks").as_bool();
      double per_del_floor = acks ? fl.send_us + fl.recv_us : fl.send_us;
      md << get(r, "users") << "×" << k << ", " << get(r, "publishers") << " publishers";
      if (r.contains("target_rate")) md << ", " << fmt(get(r, "target_rate"), 0) << "/s offered";
      if (r.contains("payload_bytes"))
        md << ", " << get(r, "payload_bytes") << " B payload"
           << (r.contains("compression") ? ", deflate" : "") << ": "
           << fmt(get(r, "wire_bytes_per_envelope"), 0) << " B/envelope on the wire";
      md << " | " << fmt(get(r, "publishes_per_s"), 0) << " pub/s, "
         << fmt(get(r, "deliveries_per_s"), 0) << " deliv/s | " << fmt(get(r, "p50_us") / 1000, 2)
         << " ms | " << fmt(get(r, "p99_us") / 1000, 2) << " ms | "
         << fmt(get(r, "p999_us") / 1000, 2) << " ms | " << fmt(get(r, "max_us") / 1000, 2)
         << " ms | ";
      double wake = fl.send_recv_wakeup_us;
      if (fan)
        md << fmt(per_del, 2) << (acks ? " µs/delivery+ack | " : " µs/delivery | ")
           << fmt(per_del / per_del_floor, 2) << "× | " << fmt(per_del / wake, 2) << "× | ";
      else
        md << fmt(per_pub, 1) << " µs/publish | " << fmt(per_pub / floor_pub, 2) << "× | "
           << fmt(per_pub / (get(r, "floor_sends") * wake), 2) << "× | ";
      md << fmt(get(r, "server_peak_rss_kib") / 1024) << " MiB | "
         << fmt(get(r, "client_cpu_share") * 100, 0) << "% | " << get(r, "errors") << " |\n";
    }
  }
  return md.str();
}

int suite(const args_map& a) {
  std::string exe = str(a, "server", "build/hopeflow-realtime");
  std::string out = str(a, "out", "bench/results");
  bool smoke = a.count("smoke");
  unsigned server_threads = static_cast<unsigned>(num(a, "server-threads", 2));
  std::filesystem::create_directories(out);
  target base;
  base.threads = static_cast<unsigned>(num(a, "threads", 2));
  base.sources = default_sources();
  std::vector<boost::json::object> rows;
  std::string self = std::filesystem::read_symlink("/proc/self/exe");

  floor_result fl = measure_floor(smoke ? 2000 : 50000);
  rows.push_back(floor_json(fl));

  auto with_server = [&](const std::string& name, auto&& body,
                         const std::vector<std::string>& extra_env = {}) {
    auto srv =
        server_process::start(exe, out + "/server-" + name + ".log", server_threads, extra_env);
    target t = base;
    t.port = srv.port;
    t.server_pid = srv.pid;
    t.secret = srv.secret;
    auto r = body(t);
    srv.stop();
    std::cerr << hf::core::to_js_json(r) << "\n";
    rows.push_back(std::move(r));
  };

  rtt_options rtt;
  if (smoke) rtt = {20, 2, 4, 1, 0.2, 0};
  with_server("rtt", [&](const target& t) { return run_rtt(t, rtt, "rtt"); });
  // The same with history off: what keeping recent envelopes costs per publish.
  with_server("rtt-nohistory", [&](const target& t) { return run_rtt(t, rtt, "rtt-nohistory"); },
              {"HISTORY_SIZE=0"});
  rtt_options rate = rtt;
  rate.publishers = smoke ? 8 : 64;
  rate.rate = smoke ? 500 : 10000;
  with_server("rate", [&](const target& t) { return run_rtt(t, rate, "rate"); });
  rtt_options rec = rtt;
  rec.recover = true;
  rec.churn = smoke ? 20 : 200;
  with_server("recover", [&](const target& t) { return run_rtt(t, rec, "recover"); });
  for (unsigned n : {1000u, 10000u}) {
    rtt_options fan{
        1, smoke ? n / 50 : n, 2, smoke ? 1.0 : (n >= 10000 ? 10.0 : 5.0), smoke ? 0.2 : 1.0, 0};
    std::string name = "fanout-" + std::to_string(n / 1000) + "k";
    with_server(name, [&](const target& t) { return run_rtt(t, fan, name); });
  }
  // No acks (sockets never ack, "ackTimeoutMs":0): one user x 1,000 sockets,
  // and 1,000 users x 2 sockets under 32 publishers: server CPU per delivery.
  {
    rtt_options fan{1, smoke ? 20u : 1000u, 2, smoke ? 1.0 : 5.0, smoke ? 0.2 : 1.0, 0};
    fan.acks = false;
    with_server("fanout-1k-noack",
                [&](const target& t) { return run_rtt(t, fan, "fanout-1k-noack"); });
    rtt_options many{smoke ? 50u : 1000u, 2, smoke ? 8u : 32u, smoke ? 1.0 : 5.0,
                     smoke ? 0.2 : 1.0,   0};
    many.acks = false;
    with_server("fanout-many", [&](const target& t) { return run_rtt(t, many, "fanout-many"); });
  }
  // 1 KiB chat payloads to 1,000 sockets, without and with permessage-deflate:
  // bytes on the wire and CPU per delivery.
  for (bool deflate : {false, true}) {
    rtt_options fan{1, smoke ? 20u : 1000u, 2, smoke ? 1.0 : 5.0, smoke ? 0.2 : 1.0, 0};
    fan.payload_bytes = 1024;
    fan.compression = deflate;
    std::string name = deflate ? "fanout-1k-1KiB-deflate" : "fanout-1k-1KiB";
    with_server(name, [&](const target& t) { return run_rtt(t, fan, name); });
  }
  // Many filters per socket: 1 user x 100 sockets x 100 filters (the
  // MAX_FILTERS_PER_USER default), one matching: server CPU per publish.
  {
    rtt_options many{1, smoke ? 10u : 100u, 2, smoke ? 1.0 : 5.0, smoke ? 0.2 : 1.0, 0};
    many.filters = 100;
    with_server("filters", [&](const target& t) { return run_rtt(t, many, "filters"); });
  }
  // Section 15: 1,000 users, their envelopes as single publishes and as
  // userIds publishes: server CPU per envelope, and the ratio.
  {
    multi_options multi{smoke ? 50u : 1000u, smoke ? 4u : 20u, smoke ? 8u : 32u};
    with_server("multi", [&](const target& t) { return run_multi(t, multi); });
  }
  // Section 14: webhook events to a local receiver, and the latency of
  // ordinary publishes meanwhile.
  {
    webhook_receiver receiver;
    webhook_bench_options wh;
    if (smoke) wh.events_per_second = 500, wh.rtt = {20, 1, 4, 1, 0.2, 200};
    with_server("webhooks", [&](const target& t) { return run_webhooks(t, wh, receiver); },
                {"WEBHOOK_URL=http://127.0.0.1:" + std::to_string(receiver.port()) + "/hook",
                 "WEBHOOK_SECRET=bench-webhook-secret-0123456789abcdef"});
  }
  connect_options conn{smoke ? 300u : 10000u, 64};
  with_server("connect", [&](const target& t) { return run_connect(t, conn); });
  idle_options idle{smoke ? 300u : 19000u, 2, self};
  with_server("idle", [&](const target& t) { return run_idle(t, idle); });

  std::ofstream jl(out + "/results.jsonl");
  double errors = 0;
  for (auto& r : rows) {
    jl << hf::core::to_js_json(r) << "\n";
    errors += get(r, "errors");
  }
  std::string md = markdown(rows, fl);
  std::ofstream(out + "/results.md") << md;
  std::cout << md;
  if (errors > 0) {
    std::cerr << "hopeflow-bench: " << errors << " errors (wrong answers or failed connections)\n";
    return 1;
  }
  return 0;
}

int usage() {
  std::cerr << R"(usage: hopeflow-bench <scenario> [options]

  suite   [--server build/hopeflow-realtime] [--out bench/results] [--smoke]
          [--threads 2] [--server-threads 2]
          starts a fresh server per scenario and runs them all (about 1-2 minutes)
  rtt     [--users 1000] [--sockets 2] [--publishers 32] [--seconds 10]   closed loop
  rate    [--rate 10000] [...rtt options]                                 open loop
  recover [--churn 200] [...rtt options]   every socket sends `recover`; churn sockets/s drop
          and come back with recover from their position while publishing (--recover 1 on
          rtt: opted in, no churn)
  fanout  [--sockets 1000] [--publishers 2] [--seconds 5]                 one user
  fanout-many [--users 1000] [--sockets 2] [--publishers 32] [--seconds 5]   no acks: sockets
          never ack, publishes carry "ackTimeoutMs":0 (server CPU per delivery)
          rtt/rate/fanout: --acks 0 (the same no-ack shape)
          rtt/rate/fanout: --compression 1 (sockets offer permessage-deflate)
          --receipts 1, --until first|N, --cancel 1 (docs/protocol.md section 12),
          --ack-delays 0,20,40 (ms before each socket of a user acks, by its index)
          --payload-bytes N (chat-like text of N bytes instead of {"n":1})
  filters [--sockets 100] [--filters 100] [--publishers 2] [--seconds 5]   one user whose
          sockets hold N filters each of the published type, one matching (the server's
          MAX_FILTERS_PER_USER must allow sockets x filters): server CPU per publish
  multi   [--users 1000] [--rounds 20] [--publishers 32]   users x 1 acking socket each; the
          same users x rounds envelopes as single publishes, then as `rounds` publishes with
          userIds of every user (docs/protocol.md section 15): server CPU per envelope, ratio
          (a cluster: --publish-port P, and --server-pids A,B to sum the nodes' CPU)
  webhooks [--receiver-port P] [--events 6000] [--users-per-publish 10] [--rate 1000]
          [--seconds 5]   a webhook receiver on P (start the server with
          WEBHOOK_URL=http://127.0.0.1:P/hook and a WEBHOOK_SECRET): events/s it gets
          from userIds publishes with "webhook": true, and the p99 of ordinary
          publishes (open loop at --rate) alone and under that load
  connect [--count 10000] [--concurrency 64]
  idle    [--count 19000] [--processes 2]
  floor   the CPU cost of one loopback send and recv on this machine

against a running server: --host 127.0.0.1 --port 8787 --secret S (or JWT_SECRET)
  --server-pid PID (server CPU and RSS) --threads 2 (load tool threads)
  --sources 127.0.0.2,127.0.0.3 (client source addresses)
  --publish-port P (rtt/rate: publish through another cluster node than the sockets')
  --redis-pids A,B,... (rtt/rate: Redis CPU per publish, summed over a Redis Cluster's nodes)
  --ports P1,P2 --server-pids A,B (idle: spread over cluster nodes, RSS summed)
)";
  return 2;
}

}  // namespace
}  // namespace hfb

int main(int argc, char** argv) {
  using namespace hfb;
  if (argc < 2) return usage();
  std::string cmd = argv[1];
  args_map a = parse_args(argc, argv, 2);
  raise_fd_limit();
  signal(SIGPIPE, SIG_IGN);
  try {
    if (cmd == "suite") return suite(a);
    if (cmd == "floor") {
      std::cout << hf::core::to_js_json(floor_json(measure_floor(50000))) << "\n";
      return 0;
    }
    target t = target_from(a);
    if (t.secret.empty()) {
      std::cerr << "hopeflow-bench: --secret (or JWT_SECRET) is required\n";
      return 2;
    }
    boost::json::object r;
    if (cmd == "rtt" || cmd == "rate" || cmd == "fanout" || cmd == "fanout-many" ||
        cmd == "recover" || cmd == "filters") {
      rtt_options o;
      if (cmd == "fanout") o = {1, 1000, 2, 5, 1, 0};
      if (cmd == "fanout-many") o = {1000, 2, 32, 5, 1, 0}, o.acks = false;
      o.acks = num(a, "acks", o.acks ? 1 : 0) != 0;
      if (cmd == "filters") o = {1, 100, 2, 5, 1, 0}, o.filters = 100;
      o.filters = unsigned(num(a, "filters", o.filters));
      if (cmd == "rate") o.rate = 10000, o.publishers = 64;
      if (cmd == "recover") o.recover = true, o.churn = 200;
      o.recover = o.recover || num(a, "recover", 0) != 0;
      o.churn = num(a, "churn", o.churn);
      o.users = unsigned(num(a, "users", o.users));
      o.sockets = unsigned(num(a, "sockets", o.sockets));
      o.publishers = unsigned(num(a, "publishers", o.publishers));
      o.seconds = num(a, "seconds", o.seconds);
      o.warmup = num(a, "warmup", o.warmup);
      o.rate = num(a, "rate", o.rate);
      o.compression = num(a, "compression", 0) != 0;
      o.payload_bytes = unsigned(num(a, "payload-bytes", 0));
      // Section 12: --receipts 1, --until first|N, --cancel 1; --ack-delays 0,20,40 (ms, per
      // socket of a user).
      if (num(a, "receipts", 0) != 0) o.publish_members += R"(,"receipts":true)";
      if (num(a, "cancel", 0) != 0) o.publish_members += R"(,"cancel":true)";
      if (auto u = a.find("until"); u != a.end() && u->second != "all")
        o.until = u->second == "first" ? 1 : unsigned(std::stoul(u->second));
      if (auto u = a.find("until"); u != a.end())
        o.publish_members += u->second == "first" || u->second == "all"
                                 ? R"(,"until":")" + u->second + "\""
                                 : R"(,"until":)" + std::to_string(std::stoul(u->second));
      if (auto d = a.find("ack-delays"); d != a.end()) {
        std::string list = d->second;
        for (std::size_t at = 0; at <= list.size();) {
          std::size_t comma = std::min(list.find(',', at), list.size());
          o.ack_delays_ms.push_back(unsigned(std::stoul(list.substr(at, comma - at))));
          at = comma + 1;
        }
      }
      r = run_rtt(t, o, cmd);
    } else if (cmd == "multi") {
      r = run_multi(t, {unsigned(num(a, "users", 1000)), unsigned(num(a, "rounds", 20)),
                        unsigned(num(a, "publishers", 32))});
    } else if (cmd == "webhooks") {
      webhook_receiver receiver(std::uint16_t(num(a, "receiver-port", 0)));
      std::cerr << "webhook receiver on 127.0.0.1:" << receiver.port() << "\n";
      webhook_bench_options o;
      o.events_per_second = num(a, "events", o.events_per_second);
      o.users_per_publish = unsigned(num(a, "users-per-publish", o.users_per_publish));
      o.rtt.rate = num(a, "rate", o.rtt.rate);
      o.rtt.seconds = num(a, "seconds", o.rtt.seconds);
      r = run_webhooks(t, o, receiver);
    } else if (cmd == "connect") {
      if (t.sources.empty()) t.sources = default_sources();
      r = run_connect(t, {unsigned(num(a, "count", 10000)), unsigned(num(a, "concurrency", 64))});
    } else if (cmd == "idle") {
      if (t.sources.empty()) t.sources = default_sources();
      r = run_idle(t, {unsigned(num(a, "count", 19000)), unsigned(num(a, "processes", 2)),
                       std::filesystem::read_symlink("/proc/self/exe")});
    } else if (cmd == "idle-worker") {
      return idle_worker(t, unsigned(num(a, "count", 0)), unsigned(num(a, "first-user", 0)));
    } else {
      return usage();
    }
    std::cout << hf::core::to_js_json(r) << "\n";
    return get(r, "errors") > 0 ? 1 : 0;
  } catch (const std::exception& e) {
    std::cerr << "hopeflow-bench: " << e.what() << "\n";
    return 1;
  }
}
