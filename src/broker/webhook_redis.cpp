#include "broker/webhook_redis.hpp"

#include <hiredis/hiredis.h>

#include <boost/asio/post.hpp>

#include "broker/run_script.hpp"
#include "broker/webhook_store.hpp"

namespace hf::broker {
namespace asio = boost::asio;

namespace {

// Events one adopt() takes at most: a node that adopts a dead node's
// backlog takes it in steps, as its queue has room.
constexpr std::size_t adopt_count = 500;

}  // namespace

webhook_redis::webhook_redis(asio::io_context& ioc, redis_backend& redis, std::string consumer,
                             std::function<bool()> usable)
    : ioc_(ioc), redis_(redis), consumer_(std::move(consumer)), usable_(std::move(usable)) {}

void webhook_redis::keep(const stored_event& e,
                         std::function<void(std::string, std::vector<stored_event>)> kept) {
  asio::post(ioc_, [this, c = webhook_store::keep(consumer_, e), kept = std::move(kept)]() mutable {
    auto fail = [kept] { kept("", {}); };
    if (!usable_()) return fail();
    bool sent = run_script(redis_, std::move(c), [kept](redisReply* r) {
      auto k = webhook_store::read_kept(r);
      kept(k.ref.value_or(""), std::move(k.found));
    });
    if (!sent) fail();
  });
}

void webhook_redis::forget(std::vector<std::string> refs) {
  asio::post(ioc_, [this, refs = std::move(refs)] {
    if (refs.empty() || !usable_()) return;  // left for an adopter: sent twice at worst
    std::string key(webhook_store::stream_key);
    redis_.command(webhook_store::forget_ack(refs), key, [](redisReply*) {});
    redis_.command(webhook_store::forget_del(refs), key, [](redisReply*) {});
  });
}

void webhook_redis::hold(std::vector<std::string> refs,
                         std::function<void(std::optional<std::vector<std::string>>)> held) {
  asio::post(ioc_, [this, refs = std::move(refs), held = std::move(held)] {
    if (refs.empty() || !usable_()) return held(std::nullopt);
    bool sent =
        redis_.command(webhook_store::hold(consumer_, refs), std::string(webhook_store::stream_key),
                       [held](redisReply* r) { held(webhook_store::read_held(r)); });
    if (!sent) held(std::nullopt);
  });
}

void webhook_redis::adopt(std::function<void(std::vector<stored_event>)> done) {
  asio::post(ioc_, [this, done = std::move(done)] {
    if (!usable_()) return done({});
    bool sent =
        redis_.command(webhook_store::adopt(consumer_, webhook_orphan_after, cursor_, adopt_count),
                       std::string(webhook_store::stream_key), [this, done](redisReply* r) {
                         auto a = webhook_store::read_adopted(r);
                         if (!a) return done({});
                         cursor_ = a->cursor;
                         done(std::move(a->events));
                       });
    if (!sent) done({});
  });
}

}  // namespace hf::broker
