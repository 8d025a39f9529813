#include "broker/origin_publish.hpp"

#include <hiredis/hiredis.h>
#include <spdlog/spdlog.h>

#include <algorithm>

#include "broker/run_script.hpp"
#include "core/log.hpp"

namespace hf::broker {
namespace {
using clock = std::chrono::steady_clock;

// A delivery this node made alone: the answer says so.
hub::delivery_callback marked_local(hub::delivery_callback done) {
  return [done = std::move(done)](hub::delivery_result r) mutable {
    r.degraded = metrics::degradation::local_only;
    done(std::move(r));
  };
}

std::uint64_t wire_ms(clock::duration d) {
  auto n = std::chrono::duration_cast<std::chrono::milliseconds>(d).count();
  return static_cast<std::uint64_t>(std::clamp<long long>(n, 0, wire::max_wait_ms));
}
}  // namespace

void origin_publish::publish(std::shared_ptr<const protocol::envelope> env, hub::deadline until,
                             hub::delivery_callback done, bool usable) {
  if (!usable) return degraded(std::move(env), until, std::move(done));
  p_.renewals.renew_if_tainted(env->user_id);
  if (env->options.cancel || env->options.until) done = ending(*env, std::move(done));
  // Nodes answer at `until` minus a margin at the latest; with a very short
  // wait (ackTimeoutMs 0) they answer at once with their counts, which
  // still take a Redis round trip to arrive.
  std::uint64_t id = p_.origin.open(std::max(until, clock::now() + min_collect), env->id,
                                    std::move(done), env->options);
  wire::publish_message head;
  head.node = p_.node_id;
  head.incarnation = p_.replies.incarnation_for(  // one Redis, one reply channel: no key built
      p_.redis.sharded() ? p_.redis.shard_of(p_.cmds.names().meta_key(env->user_id)) : -1);
  head.request = id;
  head.wait_ms = wire_ms(until - clock::now());
  head.options = env->options;  // section 12 (a "P2" message)
  head.elapsed_ms = wire_ms(clock::now() - env->arrived);
  auto sent_at = clock::now();
  auto on_reply = [this, id, sent_at, env, until](redisReply* r) {
    auto out = store::read_publish(r);
    if (out.kind == store::publish_outcome::refused) {
      // It reached nobody: delivered here instead.
      if (auto d = p_.origin.withdraw(id)) degraded(env, until, std::move(*d));
    } else if (out.kind == store::publish_outcome::lost) {
      // Lost with the connection after it was sent: it may have reached
      // any node, this one included. Never delivered again; answered at
      // the deadline.
      p_.origin.lost(id);
    } else {
      p_.origin.expect(id, out.receivers, clock::now() - sent_at);
    }
  };
  if (!run_script(
          p_.redis,
          p_.cmds.publish(env->user_id, wire::publish_prefix(head), env->text, p_.new_epoch()),
          std::move(on_reply)))  // never left this node: deliver here instead
    if (auto d = p_.origin.withdraw(id)) degraded(std::move(env), until, std::move(*d));
}

hub::delivery_callback origin_publish::ending(const protocol::envelope& env,
                                              hub::delivery_callback done) {
  return [this, user = env.user_id, id = env.id,
          done = std::move(done)](hub::delivery_result r) mutable {
    std::string channel = p_.cmds.names().user_channel(user);
    if (p_.redis.up())
      p_.redis.command({p_.redis.sharded() ? "SPUBLISH" : "PUBLISH", channel, wire::encode_end(id)},
                       channel, [](redisReply*) {});
    done(std::move(r));
  };
}

void origin_publish::degraded(std::shared_ptr<const protocol::envelope> env, hub::deadline until,
                              hub::delivery_callback done) {
  core::log_refusal(spdlog::level::warn,
                    "cluster: Redis (or the part of a Redis Cluster that serves this user) is "
                    "unreachable; a publish reaches this node's sockets only");
  p_.renewals.taint(env->user_id);
  p_.hub.deliver(std::move(env), until, marked_local(std::move(done)));
}

}  // namespace hf::broker
