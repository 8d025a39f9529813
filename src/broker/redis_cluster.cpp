#include "broker/redis_cluster.hpp"

#include <hiredis/hiredis.h>
#include <spdlog/spdlog.h>

#include <boost/asio/post.hpp>

#include "core/log.hpp"

namespace hf::broker {
namespace {
// Reconnects after a fault: from 100 ms, doubling, at most 1 s (a failover
// completes in about cluster-node-timeout plus an election; waiting longer
// than a second past it only delays the return), each drawn from [d/2, 3d/2].
constexpr auto reconnect_min = std::chrono::milliseconds(100);
constexpr auto reconnect_max = std::chrono::milliseconds(1000);
// Redirects and retries one command may take before its error is its reply.
constexpr int max_hops = 16;
// The pause before retrying TRYAGAIN (a slot half migrated), CLUSTERDOWN,
// MASTERDOWN or LOADING: 16 of them cover about 1.6 s.
constexpr auto retry_pause = std::chrono::milliseconds(100);
// The map is read again this often while up, and soon after a redirect.
constexpr auto refresh_every = std::chrono::seconds(5);
constexpr auto refresh_soon = std::chrono::milliseconds(20);
// While a master is missing (slots without a usable master, channels
// waiting for one), the map is read this often.
constexpr auto retry_refresh = std::chrono::milliseconds(200);
// A subscription refused for another reason than a redirect is asked again
// this much later.
constexpr auto refused_retry = std::chrono::seconds(5);

std::string in_flight_key(const std::string& node, std::string_view channel) {
  std::string k = node;
  k.push_back('\n');
  k.append(channel);
  return k;
}

std::string_view error_text(const redisReply* r) {
  return r && r->type == REDIS_REPLY_ERROR ? std::string_view(r->str, r->len) : std::string_view{};
}
bool transient(std::string_view err) {
  return err.starts_with("TRYAGAIN") || err.starts_with("CLUSTERDOWN") ||
         err.starts_with("MASTERDOWN") || err.starts_with("LOADING");
}
}  // namespace

redis_cluster::redis_cluster(boost::asio::io_context& ioc, std::vector<slots::endpoint> seeds,
                             redis_credentials login, handlers h)
    : ioc_(ioc),
      seeds_(std::move(seeds)),
      login_(std::move(login)),
      h_(std::move(h)),
      retry_(ioc),
      refresh_timer_(ioc),
      backoff_(reconnect_min, reconnect_max) {}

redis_cluster::~redis_cluster() { stop(); }

void redis_cluster::start() { bootstrap(0); }

void redis_cluster::stop() {
  if (stopped_) return;
  stopped_ = true;
  ++generation_;
  up_ = false;
  retry_.cancel();
  refresh_timer_.cancel();
  if (probe_) probe_->close();
  for (auto& [key, n] : nodes_) n.cmd->close(), n.sub->close();
  nodes_.clear();
}

void redis_cluster::recount() {
  std::size_t n = 0;
  if (up_ && map_)
    for (const auto& m : map_->masters()) {
      auto it = nodes_.find(slots::to_string(m));
      n += it == nodes_.end() || !it->second.cmd->up() || !it->second.sub->up();
    }
  unreachable_.store(n, std::memory_order_relaxed);
}

std::string redis_cluster::describe() const {
  std::string s = "Redis Cluster (";
  std::size_t masters = map_ ? map_->masters().size() : 0;
  s += std::to_string(masters) + " masters";
  if (!seeds_.empty()) s += ", seed " + slots::to_string(seeds_.front());
  return s + ")";
}

// Asks the candidates in turn (the seeds, then the masters of the last map)
// for CLUSTER SLOTS; the first complete map is adopted.
void redis_cluster::bootstrap(std::size_t candidate) {
  if (stopped_) return;
  std::vector<slots::endpoint> all = seeds_;
  for (const auto& k : known_)
    if (std::find(all.begin(), all.end(), k) == all.end()) all.push_back(k);
  if (candidate >= all.size()) return lost("no seed node answered with a complete slot map");
  auto at = all[candidate];
  auto gen = generation_;
  // Settled once: by the map, or by moving on to the next candidate.
  auto settled = std::make_shared<bool>(false);
  probe_ = resp_link::make(ioc_, at, login_);
  auto next = [this, gen, candidate, settled] {
    if (gen != generation_ || std::exchange(*settled, true)) return;
    boost::asio::post(ioc_, [this, gen, candidate] {
      if (gen == generation_) bootstrap(candidate + 1);
    });
  };
  probe_->connect([] {}, [next](const std::string&) { next(); });
  probe_->command({"CLUSTER", "SLOTS"}, [this, gen, at, next, settled](redisReply* r) {
    if (gen != generation_ || !r) return;  // a lost link calls next() itself
    auto p = std::exchange(probe_, nullptr);
    boost::asio::post(ioc_, [p] { p->close(); });
    auto m = slots::slot_map::from_cluster_slots(r, at.host);
    if (!m || !m->complete()) {
      spdlog::warn("cluster: {} has no complete slot map{}", slots::to_string(at),
                   error_text(r).empty() ? "" : " (" + std::string(error_text(r)) + ")");
      return next();
    }
    *settled = true;
    adopt(std::move(*m));
  });
}

void redis_cluster::adopt(slots::slot_map m) {
  map_ = std::move(m);
  known_ = map_->masters();
  for (const auto& master : map_->masters()) link(master);
  maybe_up();
}

redis_cluster::node& redis_cluster::link(const slots::endpoint& at) {
  std::string key = slots::to_string(at);
  if (auto it = nodes_.find(key); it != nodes_.end()) return it->second;
  auto gen = generation_;
  node n;
  n.serial = ++serial_;
  n.cmd = resp_link::make(ioc_, at, login_);
  n.sub = resp_link::make(ioc_, at, login_,
                          [this, key, gen](std::string_view kind, std::string_view channel,
                                           std::string_view payload, bool requested) {
                            if (gen == generation_) on_push(key, kind, channel, payload, requested);
                          });
  auto up = [this, gen, key] {
    if (gen != generation_) return;
    if (auto it = nodes_.find(key);
        it != nodes_.end() && it->second.cmd->up() && it->second.sub->up())
      cooling_.erase(key);  // reachable again: the next failure starts a fresh backoff
    maybe_up();
    recount();
  };
  auto down = [this, gen, key, serial = n.serial](const std::string& why) {
    if (gen != generation_) return;
    boost::asio::post(ioc_, [this, gen, key, serial, why] {
      if (gen == generation_) node_lost(key, serial, why);
    });
  };
  n.cmd->connect(up, down);
  n.sub->connect(up, down);
  return nodes_.emplace(std::move(key), std::move(n)).first->second;
}

redis_cluster::node* redis_cluster::usable(const slots::endpoint& at) {
  std::string key = slots::to_string(at);
  if (auto c = cooling_.find(key); c != cooling_.end()) {
    // A master that failed is dialled again after its cooldown, but used
    // only once both links are up again: until then its slots stay local
    // (nothing waits on a link that may never connect).
    if (std::chrono::steady_clock::now() < c->second.until) return nullptr;
    node& n = link(at);
    return n.cmd->up() && n.sub->up() ? &n : nullptr;
  }
  return &link(at);
}

// One master's link failed while the backend is up: drop that master alone.
void redis_cluster::node_lost(const std::string& key, std::uint64_t serial,
                              const std::string& why) {
  auto it = nodes_.find(key);
  if (it == nodes_.end() || it->second.serial != serial) return;  // already dropped
  if (!up_) return lost(key + ": " + why);
  node n = std::move(it->second);
  nodes_.erase(it);
  boost::asio::post(ioc_, [n = std::move(n)] { n.cmd->close(), n.sub->close(); });
  // Until it is reachable again (then erased), each failure doubles it.
  auto& c = cooling_.try_emplace(key, cooldown{{}, backoff(reconnect_min, reconnect_max, {})})
                .first->second;
  c.until = std::chrono::steady_clock::now() + c.wait.step();
  if (nodes_.empty()) return lost("every master is unreachable (last: " + key + ": " + why + ")");
  recount();
  spdlog::warn(
      "cluster: lost Redis Cluster node {} ({}); its slots are served locally until the "
      "cluster names a master for them",
      key, why);
  std::erase_if(in_flight_, [&](const auto& e) {
    return e.first.size() > key.size() && e.first.compare(0, key.size(), key) == 0 &&
           e.first[key.size()] == '\n';
  });
  std::vector<std::string> orphans;
  for (auto& [channel, on] : wanted_)
    if (on == key) on.clear(), orphans.push_back(channel);
  for (const auto& channel : orphans) h_.unavailable(channel);
  schedule_refresh(retry_refresh);
}

void redis_cluster::maybe_up() {
  if (up_ || stopped_ || !map_) return;
  for (const auto& master : map_->masters()) {
    auto it = nodes_.find(slots::to_string(master));
    if (it == nodes_.end() || !it->second.cmd->up() || !it->second.sub->up()) return;
  }
  up_ = true;
  backoff_.reset();
  wanted_.clear();
  schedule_refresh(refresh_every);
  h_.up();
}

void redis_cluster::lost(const std::string& why) {
  if (stopped_) return;
  bool was_up = up_;
  up_ = false;
  ++generation_;
  map_.reset();
  wanted_.clear();
  cooling_.clear();
  in_flight_.clear();
  refused_.clear();
  refresh_timer_.cancel();
  refresh_armed_ = refreshing_ = false;
  recount();
  auto nodes = std::move(nodes_);
  nodes_.clear();
  auto probe = std::exchange(probe_, nullptr);
  // Closed on the next turn: this may run inside one of their callbacks.
  boost::asio::post(ioc_, [nodes = std::move(nodes), probe]() mutable {
    for (auto& [key, n] : nodes) n.cmd->close(), n.sub->close();
    if (probe) probe->close();
  });
  retry_.expires_after(backoff_.next());
  retry_.async_wait([this](boost::system::error_code ec) {
    if (!ec) bootstrap(0);
  });
  h_.down(why, was_up);
}

bool redis_cluster::command(argv_ptr argv, std::string_view key, reply_fn done) {
  if (!up_) return false;
  const slots::endpoint* owner = map_->master_of(slots::key_slot(key));
  if (!owner || !usable(*owner)) return false;
  send(std::move(argv), slots::key_slot(key), std::move(done), 0, std::nullopt);
  return true;
}

void redis_cluster::send(argv_ptr argv, std::uint16_t slot, reply_fn done, int hops,
                         std::optional<slots::endpoint> ask) {
  const slots::endpoint* to = ask ? &*ask : (map_ ? map_->master_of(slot) : nullptr);
  node* target = to ? usable(*to) : nullptr;
  if (!target) return done(nullptr);
  node& n = *target;
  if (ask) n.cmd->command({"ASKING"}, {});
  auto gen = generation_;
  n.cmd->command(*argv, [this, argv, slot, done = std::move(done), hops, gen,
                         at_host = to->host](redisReply* r) mutable {
    std::string_view err = error_text(r);
    if (err.empty() || gen != generation_ || hops >= max_hops) return done(r);
    if (auto rd = slots::parse_redirect(err)) {
      if (rd->to.host.empty()) rd->to.host = at_host;  // "MOVED 1 :6380": the node that answered
      if (!known(rd->to)) {
        // Not a node the cluster named: the map is read again, and the
        // command retried after a pause (through the map, not the redirect).
        core::log_refusal(spdlog::level::warn,
                          "cluster: a redirect to {}, which the slot map does not name, was not "
                          "followed; reading the map again",
                          slots::to_string(rd->to));
        schedule_refresh(refresh_soon);
        return retry_later(std::move(argv), slot, std::move(done), hops);
      }
      if (!rd->ask) {
        map_->moved(rd->slot, rd->to);
        schedule_refresh(refresh_soon);
      }
      return send(std::move(argv), slot, std::move(done), hops + 1,
                  rd->ask ? std::optional(rd->to) : std::nullopt);
    }
    if (!transient(err)) return done(r);
    retry_later(std::move(argv), slot, std::move(done), hops);
  });
}

void redis_cluster::retry_later(argv_ptr argv, std::uint16_t slot, reply_fn done, int hops) {
  auto gen = generation_;
  auto timer = std::make_shared<boost::asio::steady_timer>(ioc_, retry_pause);
  timer->async_wait([this, timer, argv = std::move(argv), slot, done = std::move(done), hops,
                     gen](boost::system::error_code ec) mutable {
    if (ec || gen != generation_) return done(nullptr);
    send(std::move(argv), slot, std::move(done), hops + 1, std::nullopt);
  });
}

bool redis_cluster::known(const slots::endpoint& at) const {
  if (map_ && map_->names(at)) return true;
  for (const auto& s : seeds_)
    if (s == at) return true;
  for (const auto& k : known_)
    if (k == at) return true;
  return false;
}

void redis_cluster::subscribe(const std::string& channel) {
  if (!up_) return;
  const slots::endpoint* owner = map_->master_of(slots::key_slot(channel));
  node* n = owner ? usable(*owner) : nullptr;
  if (!n) {
    // Subscribed once a master for the slot is back (follow_map); until
    // then the channel is unavailable.
    wanted_[channel].clear();
    auto gen = generation_;
    boost::asio::post(ioc_, [this, gen, channel] {
      auto it = wanted_.find(channel);
      if (gen == generation_ && it != wanted_.end() && it->second.empty()) h_.unavailable(channel);
    });
    return schedule_refresh(retry_refresh);
  }
  std::string key = slots::to_string(*owner);
  wanted_[channel] = key;
  send_subscribe(*n, key, channel);
}

void redis_cluster::send_subscribe(node& n, const std::string& key, const std::string& channel) {
  ++in_flight_[in_flight_key(key, channel)];
  n.sub->subscription("SSUBSCRIBE", channel);
}

void redis_cluster::unsubscribe(const std::string& channel) {
  auto it = wanted_.find(channel);
  if (it == wanted_.end()) return;
  if (auto n = nodes_.find(it->second); n != nodes_.end())
    n->second.sub->subscription("SUNSUBSCRIBE", channel);
  wanted_.erase(it);
}

void redis_cluster::on_push(const std::string& node_key, std::string_view kind,
                            std::string_view channel, std::string_view payload, bool requested) {
  if (kind == "smessage") return h_.message(channel, payload);
  bool last = true;  // the answer to the last SSUBSCRIBE sent there
  if (kind == "ssubscribe" || kind == "error") {
    auto f = in_flight_.find(in_flight_key(node_key, channel));
    if (f != in_flight_.end() && --f->second > 0) last = false;
    if (f != in_flight_.end() && f->second == 0) in_flight_.erase(f);
  }
  auto it = wanted_.find(std::string(channel));
  if (kind == "ssubscribe") {
    if (last && it != wanted_.end() && it->second == node_key) h_.subscribed(channel);
    return;
  }
  if (it == wanted_.end() || it->second != node_key) return;
  if (kind == "sunsubscribe" && !requested) {
    // The slot moved away from this node: subscribe where it lives now.
    it->second.clear();
    return schedule_refresh(std::chrono::milliseconds(0));
  }
  if (kind == "error" && last) {
    it->second.clear();
    if (auto rd = slots::parse_redirect(payload); rd && !rd->ask) {
      // The slot lives elsewhere now: follow the map there (a node the map
      // does not name is only learnt from the next full read of the map).
      if (rd->to.host.empty()) rd->to.host = node_key.substr(0, node_key.rfind(':'));
      if (known(rd->to)) map_->moved(rd->slot, rd->to);
      return schedule_refresh(refresh_soon);
    }
    // Refused for good (an ACL without the channel, say): asked again later,
    // its sockets delivered to locally meanwhile.
    core::log_refusal(spdlog::level::warn, "cluster: Redis refused a subscription: {}", payload);
    refused_[it->first] = std::chrono::steady_clock::now() + refused_retry;
    h_.unavailable(channel);
  }
}

void redis_cluster::schedule_refresh(std::chrono::milliseconds after) {
  if (!up_) return;
  if (refresh_armed_ && after >= refresh_soon) {
    if (refresh_timer_.expiry() <= std::chrono::steady_clock::now() + after) return;
  }
  refresh_armed_ = true;
  auto gen = generation_;
  refresh_timer_.expires_after(after);
  refresh_timer_.async_wait([this, gen](boost::system::error_code ec) {
    if (ec || gen != generation_) return;
    refresh_armed_ = false;
    refresh();
  });
}

// Reads the map again from a master and moves every subscription whose slot
// now lives elsewhere; then again in refresh_every.
void redis_cluster::refresh() {
  if (!up_ || refreshing_ || !map_) return;
  // Ask a master that is linked and up (any would do).
  const resp_link* asked = nullptr;
  for (auto& [key, n] : nodes_)
    if (n.cmd->up()) {
      asked = n.cmd.get();
      break;
    }
  if (!asked) return schedule_refresh(retry_refresh);
  refreshing_ = true;
  auto gen = generation_;
  auto at = asked->where();
  link(at).cmd->command({"CLUSTER", "SLOTS"}, [this, gen, at](redisReply* r) {
    if (gen != generation_) return;
    refreshing_ = false;
    if (r) {
      auto m = slots::slot_map::from_cluster_slots(r, at.host);
      if (m && m->complete()) {
        map_ = std::move(*m);
        known_ = map_->masters();
      }
    }
    bool waiting = follow_map();
    recount();
    if (h_.remapped) h_.remapped();
    schedule_refresh(waiting ? retry_refresh : refresh_every);
  });
}

bool redis_cluster::follow_map() {
  bool waiting = false;
  auto now = std::chrono::steady_clock::now();
  std::erase_if(refused_, [&](const auto& r) { return r.second <= now; });
  // Masters of the map not linked yet (a promoted replica, a new master):
  // linked now, unless cooling down.
  for (const auto& m : map_->masters()) waiting = !usable(m) || waiting;
  for (auto& [channel, on] : wanted_) {
    if (refused_.count(channel)) continue;
    const slots::endpoint* owner = map_->master_of(slots::key_slot(channel));
    node* n = owner ? usable(*owner) : nullptr;
    if (!n) {
      waiting = true;
      continue;
    }
    std::string key = slots::to_string(*owner);
    if (on == key) continue;
    if (auto old = nodes_.find(on); !on.empty() && old != nodes_.end())
      old->second.sub->subscription("SUNSUBSCRIBE", channel);
    send_subscribe(*n, key, channel);
    on = key;
  }
  return waiting;
}

}  // namespace hf::broker
