#include "broker/redis_broker.hpp"

#include <hiredis/hiredis.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <spdlog/spdlog.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <future>
#include <stdexcept>
#include <thread>
#include <unordered_set>
#include <utility>

#include "broker/answer_collector.hpp"
#include "broker/cluster_wire.hpp"
#include "broker/redis_cluster.hpp"
#include "broker/redis_single.hpp"
#include "broker/subscription_table.hpp"
#include "core/hex.hpp"
#include "core/log.hpp"

namespace hf::broker {
namespace asio = boost::asio;
using clock = std::chrono::steady_clock;

namespace {

// A remote node answers this much before the origin's deadline, so that its
// answer can still arrive in time.
constexpr auto reply_margin = std::chrono::milliseconds(10);
// The shortest time the origin waits for the nodes' answers (their counts),
// even when the caller asked for no ack wait at all: one Redis round trip
// each way, with room for a busy node.
constexpr auto min_collect = std::chrono::milliseconds(250);
// How long start() waits for the first connection with REDIS_REQUIRED=1.
constexpr auto required_connect = std::chrono::seconds(5);
// NODE_ID claims: each live process holds "hf:node:<id>" = its incarnation,
// renewed this often, expiring after three missed renewals. Another
// incarnation found there means a second live process uses the same NODE_ID.
constexpr auto claim_every = std::chrono::seconds(5);
constexpr auto claim_ttl = std::chrono::seconds(15);
constexpr const char* claim_script =
    "local v = redis.call('GET', KEYS[1]) "
    "if (not v) or v == ARGV[1] then redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2]) "
    "return 1 end return 0";

// A user's meta key outlives its stream: while it exists, the user keeps
// its epoch, so positions stay comparable; a day without publishes to a
// user forgets it (its next publish starts a new epoch).
constexpr auto meta_ttl = std::chrono::hours(24);

// The first lines of the scripts that touch a user's stream: `e` is the
// user's epoch, or a new one (argument `arg`, with the offset at 0 and the
// stream emptied) when Redis knows nothing of the user. On a Redis Cluster
// the meta key also names the master that wrote it (`n`, CLUSTER MYID): a
// master that finds another's name took the slot over, by a failover (and
// may lack the last envelopes its old master acknowledged but had not yet
// replicated) or a migration, so it starts a new epoch too: a position of
// the old one is never answered recovered:true by a shard that cannot vouch
// for it. The `if` is left open for the script to add to.
std::string epoch_prologue(bool sharded, int arg) {
  std::string a = "ARGV[" + std::to_string(arg) + "]";
  if (!sharded)
    return "local e = redis.call('HGET', KEYS[1], 'e')\n"
           "if not e then\n"
           "  e = " +
           a +
           "\n"
           "  redis.call('HSET', KEYS[1], 'e', e, 'o', 0)\n"
           "  redis.call('DEL', KEYS[2])\n";
  return "local me = redis.call('CLUSTER', 'MYID')\n"
         "local m = redis.call('HMGET', KEYS[1], 'e', 'n')\n"
         "local e = m[1]\n"
         "if (not e) or m[2] ~= me then\n"
         "  e = " +
         a +
         "\n"
         "  redis.call('HSET', KEYS[1], 'e', e, 'o', 0, 'n', me)\n"
         "  redis.call('DEL', KEYS[2])\n";
}

// Numbers, records and fans out one publish, atomically: the user's epoch
// (epoch_prologue), the next offset, the kept envelope (trimmed to
// HISTORY_SIZE, expiring after HISTORY_TTL_MS), and the PUBLISH (SPUBLISH on
// a Redis Cluster, where the channel shares the keys' slot) of the message
// completed with the epoch and offset. Returns the count of receiving nodes.
// KEYS: meta, stream. ARGV: channel, message prefix, envelope, epoch if new,
// history size, history ttl ms, meta ttl ms.
std::string publish_script(bool sharded) {
  return epoch_prologue(sharded, 4) + R"lua(end
local o = redis.call('HINCRBY', KEYS[1], 'o', 1)
redis.call('PEXPIRE', KEYS[1], ARGV[7])
if tonumber(ARGV[5]) > 0 then
  redis.call('XADD', KEYS[2], 'MAXLEN', ARGV[5], '0-' .. o, 'e', ARGV[3])
  redis.call('PEXPIRE', KEYS[2], ARGV[6])
end
return redis.call(')lua" +
         std::string(sharded ? "SPUBLISH" : "PUBLISH") +
         R"lua(', ARGV[1], ARGV[2] .. e .. ' ' .. o .. '\n' .. ARGV[3])
)lua";
}

// A user's stream for a socket that recovers: {epoch, latest, id, envelope,
// id, envelope, ...}, the kept envelopes above ARGV[3] when ARGV[4] is the
// current epoch. KEYS: meta, stream. ARGV: epoch if new, meta ttl ms, after
// ('' for none), the epoch asked about.
std::string read_script(bool sharded) {
  return epoch_prologue(sharded, 1) + R"lua(  redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
local o = tonumber(redis.call('HGET', KEYS[1], 'o'))
local out = {e, o}
if ARGV[3] ~= '' and ARGV[4] == e and tonumber(ARGV[3]) < o then
  for _, entry in ipairs(redis.call('XRANGE', KEYS[2], '(0-' .. ARGV[3], '+')) do
    out[#out + 1] = entry[1]
    out[#out + 1] = entry[2][2]
  end
end
return out
)lua";
}

// A new epoch for a user this node delivered to alone while Redis was
// unreachable. KEYS: meta, stream. ARGV: the new epoch, meta ttl ms.
std::string renew_script(bool sharded) {
  return std::string(sharded ? "local me = redis.call('CLUSTER', 'MYID')\n" : "") +
         "redis.call('DEL', KEYS[2])\n"
         "redis.call('HSET', KEYS[1], 'e', ARGV[1], 'o', 0" +
         (sharded ? ", 'n', me" : "") +
         ")\n"
         "redis.call('PEXPIRE', KEYS[1], ARGV[2])\n"
         "return 1\n";
}

// Reply channels one process listens on: the base one and one per Redis
// Cluster master, a few more after map changes.
constexpr std::size_t max_reply_channels = 256;

// Users whose epochs a node renews after an outage: beyond this many it
// says so in the log (those users' old positions can no longer be told
// apart from good ones).
constexpr std::size_t max_tainted = 100'000;

// Gives NODE_ID back on shutdown, if this process still holds it.
constexpr const char* release_script =
    "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end "
    "return 0";
constexpr auto release_wait = std::chrono::milliseconds(200);

// 64 random bits in hex: a name no other process of this cluster has.
std::string random_hex_id() {
  unsigned char b[8];
  RAND_bytes(b, sizeof b);
  std::string s;
  for (unsigned char c : b) core::append_hex(s, c);
  return s;
}

// A script run by EVALSHA: Redis keeps scripts by the SHA-1 of their text,
// so each call sends 40 hex digits instead of the text (and Redis does not
// hash the text again). A Redis that does not have it (restarted, a promoted
// replica, SCRIPT FLUSH) answers NOSCRIPT; the call is then made once with
// EVAL, which also stores the script there.
struct script {
  std::string src, sha;
  explicit script(std::string text) : src(std::move(text)) {
    unsigned char md[SHA_DIGEST_LENGTH];
    SHA1(reinterpret_cast<const unsigned char*>(src.data()), src.size(), md);
    for (unsigned char c : md) core::append_hex(sha, c);
  }
};

std::string_view reply_str(const redisReply* r) {
  return r && r->type == REDIS_REPLY_STRING ? std::string_view(r->str, r->len) : std::string_view{};
}

std::string_view error_of(const redisReply* r) {
  return r && r->type == REDIS_REPLY_ERROR ? std::string_view(r->str, r->len) : std::string_view{};
}

// Errors Redis gives before it runs a script at all: the publish reached
// nobody.
bool not_run(std::string_view err) {
  for (std::string_view prefix : {"MOVED ", "ASK ", "TRYAGAIN", "CLUSTERDOWN", "MASTERDOWN",
                                  "LOADING", "NOSCRIPT", "CROSSSLOT", "READONLY"})
    if (err.starts_with(prefix)) return true;
  return false;
}

// A delivery this node made alone: the answer says so.
hub::delivery_callback marked_local(hub::delivery_callback done) {
  return [done = std::move(done)](hub::delivery_result r) mutable {
    r.degraded = metrics::degradation::local_only;
    done(std::move(r));
  };
}

}  // namespace

struct redis_broker::impl {
  enum class state { down, syncing, up };

  impl(const hub::hub& h, redis_options o)
      : hub(h),
        opt(std::move(o)),
        incarnation(random_hex_id()),
        guard(asio::make_work_guard(ioc)),
        requests(opt.results),
        deadline_timer(ioc),
        claim_timer(ioc) {
    if (opt.node_id.empty()) opt.node_id = random_hex_id();
    reply_channel = wire::reply_channel(opt.node_id, incarnation);
    redis_backend::handlers on{
        [this] { on_up(); },
        [this](const std::string& why, bool was_up) { on_down(why, was_up); },
        [this](std::string_view channel) { subscribed(channel); },
        [this](std::string_view channel, std::string_view payload) { message(channel, payload); },
        [this](std::string_view channel) { unavailable(channel); },
        [this] { remapped(); }};
    if (opt.cluster_nodes.empty()) {
      redis = std::make_unique<redis_single>(ioc, opt.where, std::move(on));
    } else {
      std::vector<slots::endpoint> seeds;
      for (const auto& n : opt.cluster_nodes) seeds.push_back({n.host, n.port});
      redis_credentials login{opt.cluster_nodes.front().user, opt.cluster_nodes.front().password};
      redis =
          std::make_unique<redis_cluster>(ioc, std::move(seeds), std::move(login), std::move(on));
    }
    names.sharded = redis->sharded();
    // The cluster backend reports only the last SSUBSCRIBE's confirmation.
    subscriptions.every_reply_reported(!names.sharded);
    publish_src = script(publish_script(names.sharded));
    read_src = script(read_script(names.sharded));
    renew_src = script(renew_script(names.sharded));
  }

  const hub::hub& hub;
  redis_options opt;
  const std::string incarnation;
  std::string reply_channel;
  // On a Redis Cluster, answers travel through the shard of the user they
  // are about (its master is alive: the publish went through it), so a
  // failed master never cuts a node off from its answers: this process also
  // listens on one reply channel per master, "hf:r:<node>:<incarnation>.<k>"
  // with the smallest k whose slot that master serves, and a publish names
  // the one on its user's master (its incarnation field is
  // "<incarnation>.<k>"; answerers of any version send to the channel that
  // field names).
  struct shard_reply {
    std::string incarnation;  // "<incarnation>.<k>", empty when none was found
    std::string channel;      // its reply channel
  };
  std::vector<shard_reply> shard_replies;           // by shard index
  std::unordered_set<std::string> reply_channels;   // every one subscribed, the base one included
  std::unordered_set<std::string> reply_confirmed;  // those Redis confirmed (and not lost since)
  asio::io_context ioc{1};
  asio::executor_work_guard<asio::io_context::executor_type> guard;
  std::thread thread;
  std::promise<bool> first_connect;
  bool first_connect_set = false;

  // Read by any thread (status()); written on the broker thread.
  std::atomic<bool> ready{false};
  std::atomic<bool> duplicate{false};
  std::atomic<std::uint64_t> rtt_ns{0}, rtt_count{0};

  // Everything below: broker thread only.
  state st = state::down;
  std::unordered_set<std::string> resyncing;  // channels whose SUBSCRIBE is unconfirmed
  std::unordered_set<std::string> tainted;    // users delivered to alone while not up
  bool taint_overflow = false;                // more than max_tainted of them
  std::size_t renewing = 0;                   // epoch renewals sent, not yet answered
  std::uint64_t downs = 0;        // times Redis was lost: older renewals' replies don't count
  std::uint64_t epochs_made = 0;  // for new_epoch()
  answer_collector requests;
  asio::steady_timer deadline_timer;  // armed for requests.next_deadline()
  std::optional<clock::time_point> armed_for;
  asio::steady_timer claim_timer;
  subscription_table subscriptions;
  std::unique_ptr<redis_backend> redis;
  wire::names names;                                    // the user's channel and keys in this mode
  script publish_src{""}, read_src{""}, renew_src{""};  // set in the constructor, for the mode

  // Runs `s` with `args` (numkeys, keys, arguments; the first key routes it)
  // by EVALSHA, and by EVAL once more where Redis does not have the script.
  // Returns false (and `done` is not called) when Redis cannot take it.
  bool eval(const script& s, std::vector<std::string> args, redis_backend::reply_fn done) {
    std::vector<std::string> v;
    v.reserve(args.size() + 2);
    v.push_back("EVALSHA");
    v.push_back(s.sha);
    for (auto& a : args) v.push_back(std::move(a));
    auto argv = std::make_shared<const std::vector<std::string>>(std::move(v));
    std::string_view key = (*argv)[3];
    return redis->command(argv, key,
                          [this, &s, argv, done = std::move(done)](redisReply* r) mutable {
                            if (r && r->type == REDIS_REPLY_ERROR &&
                                std::string_view(r->str, r->len).starts_with("NOSCRIPT")) {
                              auto full = std::make_shared<std::vector<std::string>>(*argv);
                              (*full)[0] = "EVAL";
                              (*full)[1] = s.src;
                              std::string_view key = (*full)[3];
                              if (!redis->command(std::move(full), key, done)) done(nullptr);
                              return;
                            }
                            done(r);
                          });
  }

  void set_first_connect(bool ok) {
    if (first_connect_set) return;
    first_connect_set = true;
    first_connect.set_value(ok);
  }

  // --- the connection ---

  // Both links are logged in: resubscribe the reply channel and every user
  // present here; the node is up once Redis has confirmed every one.
  void on_up() {
    st = state::syncing;
    resyncing.clear();
    reply_channels.clear();
    reply_confirmed.clear();
    listen_for_answers(reply_channel);
    remapped();
    for (const auto& user : subscriptions.users()) {
      std::string channel = names.user_channel(user);
      resyncing.insert(channel);
      redis->subscribe(channel);
    }
    claim_node_id();
  }

  // Subscribes one more reply channel of this process (counted for
  // readiness while syncing).
  void listen_for_answers(const std::string& channel) {
    if (!reply_channels.insert(channel).second) return;
    if (st == state::syncing) resyncing.insert(channel);
    redis->subscribe(channel);
  }

  // The map of a Redis Cluster was read: a reply channel on every master.
  void remapped() {
    shard_replies.assign(redis->shards(), {});
    std::size_t found = 0;
    // Bounded: with n masters the k's needed are a few times n; a slot range
    // too small to be hit by 64 * 16384 tries gets no channel (answers for
    // its users use the base one).
    for (std::size_t k = 0; found < shard_replies.size() && k < 64 * 16384; ++k) {
      std::string inc = incarnation + "." + std::to_string(k);
      std::string channel = wire::reply_channel(opt.node_id, inc);
      int shard = redis->shard_of(channel);
      if (shard < 0 || std::size_t(shard) >= shard_replies.size() ||
          !shard_replies[shard].incarnation.empty())
        continue;
      shard_replies[shard] = {std::move(inc), std::move(channel)};
      ++found;
    }
    // Channels are added, never dropped while up: a node has few masters,
    // and an answer may still be on its way to an older one. Bounded.
    for (const auto& r : shard_replies)
      if (!r.incarnation.empty() && reply_channels.size() < max_reply_channels)
        listen_for_answers(r.channel);
  }

  // The incarnation a publish for `user` names: the one whose reply channel
  // lives on the user's master, or the base one.
  const std::string& incarnation_for(std::string_view meta_key) const {
    int shard = redis->shard_of(meta_key);
    if (shard < 0 || std::size_t(shard) >= shard_replies.size()) return incarnation;
    const shard_reply& r = shard_replies[shard];
    return !r.incarnation.empty() && reply_confirmed.count(r.channel) ? r.incarnation : incarnation;
  }

  // An incarnation field of this process: the base one, or "<base>.<k>".
  bool mine(std::string_view inc) const noexcept {
    return inc == incarnation || (inc.size() > incarnation.size() + 1 &&
                                  inc.starts_with(incarnation) && inc[incarnation.size()] == '.');
  }

  // One of this process's reply channels. Every message of a user channel
  // comes through here: the prefix check spares them building a key.
  bool is_reply_channel(std::string_view channel) const {
    return channel.starts_with(wire::reply_prefix) && reply_channels.count(std::string(channel));
  }

  // An epoch name no process of the cluster makes twice.
  std::string new_epoch() { return incarnation + "-" + std::to_string(++epochs_made); }

  void confirmed(std::string_view channel) {
    if (st != state::syncing || !resyncing.erase(std::string(channel))) return;
    maybe_up();
  }

  // Renews the epoch of every user delivered to alone, then (once Redis has
  // answered every renewal and confirmed every subscription) the node is up.
  void maybe_up() {
    if (st != state::syncing || !resyncing.empty() || renewing > 0) return;
    if (!tainted.empty()) return renew_tainted();
    if (taint_overflow) {
      spdlog::warn(
          "cluster: more than {} users were delivered to while Redis was unreachable; the epochs "
          "of the others could not be renewed",
          max_tainted);
      taint_overflow = false;
    }
    st = state::up;
    ready = true;
    spdlog::info("cluster: connected to {} as node {} ({} users subscribed)", redis->describe(),
                 opt.node_id, subscriptions.size());
    set_first_connect(true);
  }

  void renew_tainted() {
    if (!redis->up()) return;
    auto users = std::move(tainted);
    tainted.clear();
    for (const auto& user : users) renew(user);
  }

  // Gives `user` a new epoch in Redis (untainted meanwhile; tainted again if
  // it fails). Commands for one user go to one link in order, so a publish
  // or a read sent after this one sees the new epoch. By EVAL, not EVALSHA:
  // renewals are rare, and a NOSCRIPT answer would send the renewal again
  // behind the commands that must come after it.
  void renew(const std::string& user) {
    ++renewing;
    std::string meta = names.meta_key(user);
    std::string_view key = meta;  // the argv below takes a copy
    bool sent =
        redis->command({"EVAL", renew_src.src, "2", meta, names.stream_key(user), new_epoch(),
                        std::to_string(std::chrono::milliseconds(meta_ttl).count())},
                       key, [this, user, down = downs](redisReply* r) {
                         if (down != downs) return taint(user);  // counted off when Redis was lost
                         --renewing;
                         if (!r || r->type == REDIS_REPLY_ERROR) taint(user);  // again later
                         maybe_up();
                       });
    if (!sent) --renewing, taint(user);
  }

  // On a Redis Cluster part of Redis can fail while the node stays up: a
  // user delivered to alone meanwhile gets its new epoch before this node
  // next publishes or reads for it through Redis.
  void renew_if_tainted(const std::string& user) {
    if (st != state::up) return;
    if (auto t = tainted.find(user); t != tainted.end()) {
      tainted.erase(t);
      renew(user);
    }
  }

  void taint(const std::string& user) {
    if (tainted.size() < max_tainted)
      tainted.insert(user);
    else
      taint_overflow = true;
  }

  void on_down(const std::string& why, bool was_up) {
    bool was_ready = st == state::up;
    st = state::down;
    renewing = 0;
    ++downs;
    ready = false;
    claim_timer.cancel();
    if (was_ready)
      spdlog::warn(
          "cluster: lost Redis ({}); publishes reach this node's sockets only until it is back",
          why);
    else
      spdlog::warn("cluster: cannot reach {} ({}); retrying", redis->describe(), why);
    set_first_connect(false);
    // Sockets waiting for a subscription open anyway (degraded: local only).
    for (auto& f : subscriptions.lost()) f();
  }

  // Claims NODE_ID for this process, now and every claim_every while up.
  void claim_node_id() {
    if (!redis->up()) return;
    std::string key = "hf:node:" + opt.node_id;
    redis->command({"EVAL", claim_script, "1", key, incarnation,
                    std::to_string(std::chrono::milliseconds(claim_ttl).count())},
                   key, [this](redisReply* r) {
                     if (!r || r->type != REDIS_REPLY_INTEGER) return;
                     bool dup = r->integer == 0;
                     if (dup && !duplicate)
                       spdlog::warn(
                           "cluster: another live node also uses NODE_ID {} (or an earlier run of "
                           "this node ended without stopping, less than 15 s ago); answers stay "
                           "apart (each process has its own reply channel) but logs and metrics "
                           "are ambiguous: give every node its own NODE_ID",
                           opt.node_id);
                     duplicate = dup;
                   });
    // Users delivered to alone while their part of a Redis Cluster was down
    // and not published to since: renewed here, at most claim_every later.
    if (st == state::up && !tainted.empty()) renew_tainted();
    claim_timer.expires_after(claim_every);
    claim_timer.async_wait([this](boost::system::error_code ec) {
      if (!ec) claim_node_id();
    });
  }

  // --- origin side ---
  void publish(std::shared_ptr<const protocol::envelope> env, hub::deadline until,
               hub::delivery_callback done) {
    if (st != state::up || !redis->up()) return degraded(std::move(env), until, std::move(done));
    renew_if_tainted(env->user_id);
    // Nodes answer at `until` minus a margin at the latest; with a very short
    // wait (ackTimeoutMs 0) they answer at once with their counts, which
    // still take a Redis round trip to arrive.
    std::uint64_t id =
        requests.open(std::max(until, clock::now() + min_collect), env->id, std::move(done));
    arm_deadline();
    auto remaining = std::chrono::duration_cast<std::chrono::milliseconds>(until - clock::now());
    std::string meta = names.meta_key(env->user_id);
    wire::publish_message msg{
        opt.node_id,
        incarnation_for(meta),
        id,
        static_cast<std::uint64_t>(std::clamp<long long>(remaining.count(), 0, wire::max_wait_ms)),
        {},
        0,
        {}};
    auto sent_at = clock::now();
    bool sent =
        eval(publish_src,
             {"2", std::move(meta), names.stream_key(env->user_id),
              names.user_channel(env->user_id), wire::publish_prefix(msg), env->text, new_epoch(),
              std::to_string(opt.history_size), std::to_string(opt.history_ttl.count()),
              std::to_string(std::chrono::milliseconds(meta_ttl).count())},
             [this, id, sent_at, env, until](redisReply* r) {
               if (r && r->type == REDIS_REPLY_ERROR && not_run(error_of(r))) {
                 // Refused before the script ran (a cluster redirect or
                 // retry that ran out, NOSCRIPT twice): it reached nobody,
                 // so it is delivered here instead.
                 if (auto d = requests.withdraw(id)) degraded(env, until, std::move(*d));
                 return;
               }
               if (!r || r->type != REDIS_REPLY_INTEGER) {
                 // Lost with the connection after it was sent: it may
                 // have reached any node, this one included. Never
                 // delivered again; answered at the deadline.
                 return requests.lost(id);
               }
               record_rtt(clock::now() - sent_at);
               complete(requests.expect(id, static_cast<std::size_t>(r->integer)));
             });
    if (!sent)  // never left this node: deliver here instead
      if (auto d = requests.withdraw(id)) degraded(std::move(env), until, std::move(*d));
  }

  void degraded(std::shared_ptr<const protocol::envelope> env, hub::deadline until,
                hub::delivery_callback done) {
    core::log_refusal(spdlog::level::warn,
                      "cluster: Redis (or the part of a Redis Cluster that serves this user) is "
                      "unreachable; a publish reaches this node's sockets only");
    taint(env->user_id);
    hub.deliver(std::move(env), until, marked_local(std::move(done)));
  }

  void complete(std::optional<answer_collector::completion> c) {
    if (!c) return;
    c->done(std::move(c->result));
    arm_deadline();
  }

  // One timer for every publish waiting here, armed for the earliest deadline.
  void arm_deadline() {
    auto next = requests.next_deadline();
    if (next == armed_for) return;
    armed_for = next;
    if (!next) return void(deadline_timer.cancel());
    deadline_timer.expires_at(*next);  // cancels the previous wait
    deadline_timer.async_wait([this](boost::system::error_code ec) {
      if (ec) return;
      armed_for.reset();
      for (auto& c : requests.expire(clock::now())) c.done(std::move(c.result));
      arm_deadline();
    });
  }

  void record_rtt(clock::duration d) {
    // Written by this thread only: relaxed load + store.
    rtt_ns.store(
        rtt_ns.load(std::memory_order_relaxed) + std::uint64_t(std::chrono::nanoseconds(d).count()),
        std::memory_order_relaxed);
    rtt_count.store(rtt_count.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
  }

  // --- subscriptions: confirmations and messages ---
  void subscribed(std::string_view channel) {
    if (is_reply_channel(channel))
      reply_confirmed.insert(std::string(channel));
    else if (auto user = names.user_of_channel(channel))
      for (auto& ready_fn : subscriptions.confirmed(*user)) ready_fn();
    confirmed(channel);
  }

  // The Redis Cluster master of this channel failed (the rest is up): its
  // user's sockets here that wait for the subscription open now (delivered
  // to locally until the channel is subscribed again, which the backend does
  // by itself).
  void unavailable(std::string_view channel) {
    // Readiness does not wait for a channel whose master is down (its users
    // are delivered to locally until the backend subscribes it again).
    if (st == state::syncing && resyncing.erase(std::string(channel))) maybe_up();
    if (is_reply_channel(channel)) {
      reply_confirmed.erase(std::string(channel));  // publishes name another until it is back
      return;
    }
    if (auto user = names.user_of_channel(channel))
      for (auto& ready_fn : subscriptions.lost(*user)) ready_fn();
  }

  void message(std::string_view channel, std::string_view payload) {
    if (is_reply_channel(channel)) return reply_message(payload);
    if (names.user_of_channel(channel)) user_message(payload);
  }

  // --- every node: a publish for one of our users ---
  void user_message(std::string_view payload) {
    auto msg = wire::decode_publish(payload);
    auto env = msg ? protocol::parse_envelope(msg->envelope) : std::nullopt;
    if (!env) {
      core::log_refusal(spdlog::level::warn, "cluster: ignored a malformed publish message");
      return;
    }
    env->epoch = msg->epoch;
    env->offset = msg->offset;
    auto wait = std::chrono::milliseconds(msg->wait_ms);
    auto until =
        clock::now() + (wait > reply_margin ? wait - reply_margin : std::chrono::milliseconds(0));
    std::string envelope_id = env->id;
    hub.deliver(std::make_shared<const protocol::envelope>(std::move(*env)), until,
                [this, m = std::move(*msg), envelope_id](hub::delivery_result res) mutable {
                  asio::post(ioc,
                             [this, m = std::move(m), envelope_id, res = std::move(res)]() mutable {
                               answer(m, envelope_id, std::move(res));
                             });
                });
  }

  void answer(const wire::publish_message& m, const std::string& envelope_id,
              hub::delivery_result res) {
    if (mine(m.incarnation))  // this process took it: no Redis round trip
      return complete(requests.answer(m.request, envelope_id, res.client_count, res.dropped,
                                      std::move(res.results)));
    if (!redis->up()) return;  // the origin answers at its deadline without this node
    wire::node_answer a{m.incarnation,    m.request,   envelope_id,
                        res.client_count, res.dropped, std::move(res.results)};
    std::string channel = wire::reply_channel(m.node, m.incarnation);
    std::string_view key = channel;  // the argv below takes a copy
    redis->command({names.sharded ? "SPUBLISH" : "PUBLISH", channel, wire::encode(a)}, key,
                   [](redisReply*) {});
  }

  // --- origin: another node's answer ---
  void reply_message(std::string_view payload) {
    auto a = wire::decode_answer(payload);
    if (!a || !mine(a->incarnation)) {
      core::log_refusal(spdlog::level::warn, "cluster: ignored a malformed node answer");
      return;
    }
    complete(
        requests.answer(a->request, a->envelope_id, a->count, a->dropped, std::move(a->results)));
  }

  // --- streams, for sockets that recover ---
  void read(const std::string& user, std::optional<hub::stream_position> after,
            std::function<void(hub::stream_view)> done) {
    if (st != state::up || !redis->up())
      return done({});  // not ok: the socket is told recovered:false
    renew_if_tainted(user);
    auto shared_done = std::make_shared<std::function<void(hub::stream_view)>>(std::move(done));
    bool sent =
        eval(read_src,
             {"2", names.meta_key(user), names.stream_key(user), new_epoch(),
              std::to_string(std::chrono::milliseconds(meta_ttl).count()),
              after ? std::to_string(after->offset) : std::string(),
              after ? after->epoch : std::string()},
             [shared_done, after](redisReply* r) { (*shared_done)(stream_view_of(r, after)); });
    if (!sent) (*shared_done)({});
  }

  // The read script's reply as a stream view (not ok when it is not one).
  static hub::stream_view stream_view_of(redisReply* r,
                                         const std::optional<hub::stream_position>& after) {
    hub::stream_view v;
    if (!r || r->type != REDIS_REPLY_ARRAY || r->elements < 2 ||
        r->element[0]->type != REDIS_REPLY_STRING || r->element[1]->type != REDIS_REPLY_INTEGER ||
        r->element[1]->integer < 0)
      return v;
    v.epoch = std::string(reply_str(r->element[0]));
    v.latest = static_cast<std::uint64_t>(r->element[1]->integer);
    bool same_epoch = after && after->epoch == v.epoch;
    for (std::size_t i = 2; i + 1 < r->elements; i += 2) {
      auto offset = wire::offset_of_entry(reply_str(r->element[i]));
      auto env = offset ? protocol::parse_envelope(reply_str(r->element[i + 1])) : std::nullopt;
      if (!env) return {};
      env->epoch = v.epoch;
      env->offset = *offset;
      v.records.push_back(
          {std::make_shared<const protocol::envelope>(std::move(*env)), v.epoch, *offset});
    }
    // Everything after the position is there when the kept envelopes run,
    // without a gap, from the one right after it to the latest.
    if (same_epoch) {
      v.complete = v.records.empty() ? after->offset == v.latest
                                     : v.records.front().offset == after->offset + 1 &&
                                           v.records.back().offset == v.latest &&
                                           v.records.size() == v.latest - after->offset;
    }
    v.ok = true;
    return v;
  }

  // --- presence ---
  void opening(const std::string& user, std::function<void()> ready_fn) {
    switch (subscriptions.opening(user, st != state::down, ready_fn)) {
      case subscription_table::action::ready:
        return ready_fn();
      case subscription_table::action::wait:
        return;
      case subscription_table::action::subscribe:
        if (redis->up()) redis->subscribe(names.user_channel(user));
        return;
    }
  }

  void closed(const std::string& user) {
    if (!subscriptions.closed(user)) return;
    if (redis->up()) redis->unsubscribe(names.user_channel(user));
  }
};

redis_broker::redis_broker(const hub::hub& h, redis_options opt)
    : impl_(std::make_unique<impl>(h, std::move(opt))) {}

redis_broker::~redis_broker() { stop(); }

const std::string& redis_broker::node_id() const noexcept { return impl_->opt.node_id; }
const std::string& redis_broker::incarnation() const noexcept { return impl_->incarnation; }

void redis_broker::start() {
  auto& m = *impl_;
  auto first = m.first_connect.get_future();
  asio::post(m.ioc, [&m] { m.redis->start(); });
  m.thread = std::thread([&m] { m.ioc.run(); });
  if (m.opt.required) {
    if (first.wait_for(required_connect) != std::future_status::ready || !first.get())
      throw std::runtime_error("cannot connect to " + m.redis->describe() +
                               " (REDIS_REQUIRED is set)");
  }
}

hub::deadline redis_broker::answer_by(hub::deadline until) const {
  return std::max(until, clock::now() + min_collect);
}

void redis_broker::drain() {
  // Publishes this node took are answered within min_collect: long enough
  // for nodes that are draining too (they answer at once) to be counted.
  asio::post(impl_->ioc, [m = impl_.get()] {
    m->requests.shorten(clock::now() + min_collect);
    m->arm_deadline();
  });
}

void redis_broker::stop() {
  auto& m = *impl_;
  if (!m.thread.joinable()) return;
  asio::post(m.ioc, [&m] {
    // Sockets still waiting for a subscription are released to their own
    // threads (which own them) rather than destroyed here; publishes still
    // waiting are answered with what they have.
    for (auto& f : m.subscriptions.lost()) f();
    for (auto& c : m.requests.take_all()) c.done(std::move(c.result));
    m.deadline_timer.cancel();
    m.claim_timer.cancel();
    // Hand the NODE_ID back (a node restarted right away is no duplicate),
    // waiting for Redis at most release_wait.
    auto finish = std::make_shared<std::function<void()>>([&m] {
      m.redis->stop();
      m.guard.reset();
    });
    auto once = [finish] {
      if (auto f = std::exchange(*finish, nullptr)) f();
    };
    std::string key = "hf:node:" + m.opt.node_id;
    if (!m.redis->up() || !m.redis->command({"EVAL", release_script, "1", key, m.incarnation}, key,
                                            [once](redisReply*) { once(); }))
      return once();
    m.claim_timer.expires_after(release_wait);
    m.claim_timer.async_wait([once](boost::system::error_code) { once(); });
  });
  m.thread.join();
  m.ready = false;
}

broker_status redis_broker::status() const {
  return {impl_->ready ? metrics::cluster_state::connected : metrics::cluster_state::disconnected,
          double(impl_->rtt_ns.load(std::memory_order_relaxed)) / 1e9,
          impl_->rtt_count.load(std::memory_order_relaxed), impl_->duplicate.load(),
          impl_->redis->unreachable()};
}

void redis_broker::publish(std::shared_ptr<const protocol::envelope> env, hub::deadline until,
                           hub::delivery_callback done) {
  asio::post(impl_->ioc,
             [m = impl_.get(), env = std::move(env), until, done = std::move(done)]() mutable {
               m->publish(std::move(env), until, std::move(done));
             });
}

bool redis_broker::socket_opening(const std::string& user, std::function<void()> ready) {
  asio::post(impl_->ioc, [m = impl_.get(), user, ready = std::move(ready)]() mutable {
    m->opening(user, std::move(ready));
  });
  return false;
}

void redis_broker::read_stream(const std::string& user, std::optional<hub::stream_position> after,
                               std::function<void(hub::stream_view)> done) {
  asio::post(impl_->ioc,
             [m = impl_.get(), user, after = std::move(after), done = std::move(done)]() mutable {
               m->read(user, std::move(after), std::move(done));
             });
}

void redis_broker::socket_closed(const std::string& user) {
  asio::post(impl_->ioc, [m = impl_.get(), user] { m->closed(user); });
}

}  // namespace hf::broker
