#include "broker/redis_broker.hpp"

#include <hiredis/hiredis.h>
#include <spdlog/spdlog.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <future>
#include <stdexcept>
#include <thread>
#include <utility>

#include "broker/channel_sync.hpp"
#include "broker/cluster_wire.hpp"
#include "broker/device_roster.hpp"
#include "broker/epoch_renewals.hpp"
#include "broker/node_claim.hpp"
#include "broker/node_delivery.hpp"
#include "broker/origin_publish.hpp"
#include "broker/origin_waits.hpp"
#include "broker/reply_channels.hpp"
#include "broker/run_script.hpp"
#include "broker/store.hpp"
#include "broker/stream_reads.hpp"
#include "broker/webhook_redis.hpp"
#include "broker/webhook_store.hpp"
#include "core/log.hpp"

namespace hf::broker {
namespace asio = boost::asio;
using clock = std::chrono::steady_clock;

namespace {

// How long start() waits for the first connection with REDIS_REQUIRED=1.
constexpr auto required_connect = std::chrono::seconds(5);

}  // namespace

struct redis_broker::impl {
  enum class state { down, syncing, up };

  impl(const hub::hub& h, redis_options o)
      : hub(h),
        opt(std::move(o)),
        incarnation(protocol::random_hex_id()),
        guard(asio::make_work_guard(ioc)),
        redis(make_redis_backend(
            ioc, opt.where, opt.cluster_nodes,
            {[this] { on_up(); },
             [this](const std::string& why, bool was_up) { on_down(why, was_up); },
             [this](std::string_view channel) { subscribed(channel); },
             [this](std::string_view ch, std::string_view m) {
               if (replies.is_mine(ch)) {
                 if (!devices.on_answer(m)) origin.on_answer(m, replies);
               } else if (auto user = cmds.names().user_of_channel(ch)) {
                 if (m.starts_with("C1 "))
                   nodes.on_end(*user, m);
                 else if (!devices.on_user_message(*user, m))
                   nodes.on_publish(ch, m);
               }
             },
             [this](std::string_view channel) { unavailable(channel); },
             [this] { channels.remapped(); }})),
        cmds(wire::names{redis->sharded()},
             {opt.history_size, opt.history_ttl, opt.history_max_bytes, opt.read_max_bytes}),
        replies(node_id(), incarnation),
        renewals(
            [this](const std::string& user, std::function<void(bool)> done) {
              return send_renewal(user, std::move(done));
            },
            [this] { maybe_up(); }),
        claim(ioc, *redis, cmds, node_id(), incarnation,
              [this] {
                if (st == state::up && renewals.any_tainted()) renewals.renew_all();
              }),
        origin(ioc, opt.results),
        nodes(ioc, hub, *redis, cmds, replies, origin, fence),
        channels(*redis, cmds.names(), replies),
        reads(*redis, cmds, fence, [this] { return new_epoch(); }),
        devices(ioc, hub, *redis, cmds.names(), replies, node_id()),
        publisher({hub, *redis, cmds, replies, origin, renewals, opt.node_id,
                   [this] { return new_epoch(); }}),
        webhooks(ioc, *redis, webhook_store::consumer_name(node_id(), incarnation),
                 [this] { return st == state::up && redis->up(); }) {}

  const std::string& node_id() {
    if (opt.node_id.empty()) opt.node_id = protocol::random_hex_id();
    return opt.node_id;
  }

  const hub::hub& hub;
  redis_options opt;
  const std::string incarnation;
  asio::io_context ioc{1};
  asio::executor_work_guard<asio::io_context::executor_type> guard;
  std::thread thread;
  std::promise<bool> first_connect;
  bool first_connect_set = false;

  // Read by any thread (status()); written on the broker thread.
  std::atomic<bool> ready{false};

  // Everything below: broker thread only.
  state st = state::down;
  std::uint64_t epochs_made = 0;  // for new_epoch()
  std::unique_ptr<redis_backend> redis;
  store::commands cmds;
  reply_channels replies;
  epoch_renewals renewals;
  node_claim claim;
  origin_waits origin;  // the publishes this node took
  epoch_fence fence;    // refuses what superseded masters write
  node_delivery nodes;  // publishes of other nodes (and ours) for our users
  channel_sync channels;
  stream_reads reads;                            // for recovering sockets
  device_roster devices;                         // sections 11 and 13 across nodes
  origin_publish publisher;                      // publishes this node takes
  idempotency_memory keys{opt.idempotency_ttl};  // section 15 while Redis is unreachable
  webhook_redis webhooks;                        // section 14: the events' outbox

  void set_first_connect(bool ok) {
    if (!std::exchange(first_connect_set, true)) first_connect.set_value(ok);
  }

  // An epoch name no process of the cluster makes twice.
  std::string new_epoch() { return incarnation + "-" + std::to_string(++epochs_made); }

  // Every link is logged in: resubscribe the reply channels and every user
  // present here; the node is up once Redis has confirmed every one.
  void on_up() {
    st = state::syncing;
    channels.resync();
    claim.claim();
  }

  static void run(std::vector<channel_sync::ready_fn> ready) {
    for (auto& f : ready) f();
  }

  // Renews the epoch of every user delivered to alone, then (once Redis has
  // answered every renewal and confirmed every subscription) the node is up.
  void maybe_up() {
    if (st != state::syncing || !channels.synced() || renewals.busy()) return;
    if (renewals.any_tainted()) {
      if (redis->up()) renewals.renew_all();
      return;
    }
    if (renewals.take_overflow())
      spdlog::warn(
          "cluster: more than {} users were delivered to while Redis was unreachable; the epochs "
          "of the others could not be renewed",
          epoch_renewals::max_tainted);
    st = state::up;
    ready = true;
    spdlog::info("cluster: connected to {} as node {} ({} users subscribed)", redis->describe(),
                 opt.node_id, channels.users());
    set_first_connect(true);
  }

  // One renewal, in order with the user's later commands (one link per
  // user). By EVAL (store::commands::renew says why).
  bool send_renewal(const std::string& user, std::function<void(bool)> done) {
    auto c = cmds.renew(user, new_epoch());
    return redis->command(c.argv(true), c.key(), [done = std::move(done)](redisReply* r) {
      done(r && store::error_of(r).empty());
    });
  }

  void on_down(const std::string& why, bool was_up) {
    bool was_ready = st == state::up;
    st = state::down;
    renewals.redis_lost();
    reads.redis_lost();
    ready = false;
    claim.redis_lost();
    if (was_ready)
      spdlog::warn(
          "cluster: lost Redis ({}); publishes reach this node's sockets only until it is back",
          why);
    else
      spdlog::warn("cluster: cannot reach {} ({}); retrying", redis->describe(), why);
    set_first_connect(false);
    // Sockets waiting for a subscription open anyway (degraded: local only).
    run(channels.lost());
  }

  void subscribed(std::string_view channel) {
    run(channels.subscribed(channel));
    maybe_up();
  }

  void unavailable(std::string_view channel) {
    run(channels.unavailable(channel));
    maybe_up();
  }

  // --- streams, for sockets that recover ---
  void read(const std::string& user, std::optional<hub::stream_position> after,
            std::function<void(hub::stream_view)> done) {
    if (st != state::up || !redis->up())
      return done({});  // not ok: the socket is told recovered:false
    renewals.renew_if_tainted(user);
    reads.read(user, std::move(after), std::move(done));
  }

  // --- presence ---
  void opening(const std::string& user, std::function<void()> ready_fn) {
    if (auto now = channels.opening(user, st != state::down, std::move(ready_fn))) (*now)();
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
  std::string where = m.redis->describe();  // before the thread that changes it runs
  asio::post(m.ioc, [&m] { m.redis->start(); });
  m.thread = std::thread([&m] { m.ioc.run(); });
  if (m.opt.required) {
    if (first.wait_for(required_connect) != std::future_status::ready || !first.get())
      throw std::runtime_error("cannot connect to " + where + " (REDIS_REQUIRED is set)");
  }
}

hub::deadline redis_broker::answer_by(hub::deadline until) const {
  return std::max(until, clock::now() + origin_publish::min_collect);
}

void redis_broker::drain() {
  // Publishes this node took are answered within origin_publish::min_collect: long enough
  // for nodes that are draining too (they answer at once) to be counted.
  asio::post(impl_->ioc,
             [m = impl_.get()] { m->origin.shorten(clock::now() + origin_publish::min_collect); });
}

void redis_broker::stop() {
  auto& m = *impl_;
  if (!m.thread.joinable()) return;
  asio::post(m.ioc, [&m] {
    // Sockets still waiting for a subscription are released to their own
    // threads (which own them) rather than destroyed here; publishes still
    // waiting are answered with what they have.
    impl::run(m.channels.lost());
    m.origin.finish_all();
    // Hand the NODE_ID back (a node restarted right away is no duplicate).
    m.claim.release([&m] {
      m.redis->stop();
      m.guard.reset();
    });
  });
  m.thread.join();
  m.ready = false;
}

broker_status redis_broker::status() const {
  return {impl_->ready ? metrics::cluster_state::connected : metrics::cluster_state::disconnected,
          impl_->origin.rtt_seconds(), impl_->origin.rtt_count(), impl_->claim.duplicate(),
          impl_->redis->unreachable()};
}

void redis_broker::publish(std::shared_ptr<const protocol::envelope> env, hub::deadline until,
                           hub::delivery_callback done) {
  asio::post(impl_->ioc,
             [m = impl_.get(), env = std::move(env), until, done = std::move(done)]() mutable {
               m->publisher.publish(std::move(env), until, std::move(done),
                                    m->st == impl::state::up && m->redis->up());
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

void redis_broker::roster(const std::string& user, roster_callback done) {
  asio::post(impl_->ioc, [m = impl_.get(), user, done = std::move(done)]() mutable {
    m->devices.roster(user, m->st == impl::state::up && m->redis->up(), std::move(done));
  });
}

void redis_broker::device_opened(const std::string& user, const std::string& device,
                                 std::int64_t since_ms) {
  asio::post(impl_->ioc, [m = impl_.get(), user, device, since_ms] {
    m->devices.device_opened(user, device, since_ms);
  });
}

// Section 15: records in Redis, seen by every node (one SET each; see
// broker/idempotency_keys.hpp); in this process while Redis is unreachable.
void redis_broker::claim_key(std::string key, std::string fingerprint,
                             std::chrono::milliseconds hold, std::function<void(key_claim)> done) {
  asio::post(impl_->ioc, [m = impl_.get(), key = "hf:idem:" + key, fp = std::move(fingerprint),
                          hold, done = std::move(done)]() mutable {
    auto local = [m, key, fp, hold, done] { done(m->keys.claim(key, fp, hold, clock::now())); };
    if (m->st != impl::state::up || !m->redis->up()) return local();
    std::string flight = protocol::encode(protocol::idempotency_record{fp});
    bool sent = m->redis->command(
        {"SET", key, flight, "NX", "GET", "PX", std::to_string(hold.count())}, key,
        [fp, done, local](redisReply* r) {
          if (!r || r->type == REDIS_REPLY_ERROR) return local();
          if (r->type == REDIS_REPLY_NIL) return done(key_claim{});
          done(claim_outcome(protocol::decode_idempotency_record(std::string_view(r->str, r->len)),
                             fp));
        });
    if (!sent) local();
  });
}

void redis_broker::keep_answer(std::string key, protocol::idempotency_record answered) {
  asio::post(impl_->ioc, [m = impl_.get(), key = "hf:idem:" + key,
                          r = std::move(answered)]() mutable {
    std::string ttl = std::to_string(m->opt.idempotency_ttl.count());
    if (m->st != impl::state::up || !m->redis->up() ||
        !m->redis->command({"SET", key, protocol::encode(r), "PX", ttl}, key, [](redisReply*) {}))
      m->keys.keep(key, std::move(r), clock::now());
  });
}

webhook_outbox* redis_broker::outbox() { return &impl_->webhooks; }

void redis_broker::socket_closed(const std::string& user) {
  asio::post(impl_->ioc, [m = impl_.get(), user] { m->channels.closed(user); });
}

}  // namespace hf::broker
