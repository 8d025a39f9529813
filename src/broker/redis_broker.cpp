#include "broker/redis_broker.hpp"

#include <hiredis/hiredis.h>
#include <openssl/rand.h>
#include <spdlog/spdlog.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <future>
#include <stdexcept>
#include <thread>

#include "broker/answer_collector.hpp"
#include "broker/cluster_wire.hpp"
#include "broker/redis_connection.hpp"
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

std::string random_node_id() {
  unsigned char b[8];
  RAND_bytes(b, sizeof b);
  std::string s;
  for (unsigned char c : b) core::append_hex(s, c);
  return s;
}

std::string_view reply_str(const redisReply* r) {
  return r && r->type == REDIS_REPLY_STRING ? std::string_view(r->str, r->len) : std::string_view{};
}

}  // namespace

struct redis_broker::impl {
  impl(const hub::hub& h, redis_options o)
      : hub(h),
        opt(std::move(o)),
        guard(asio::make_work_guard(ioc)),
        deadline_timer(ioc),
        redis(
            ioc, opt.where, [this] { on_up(); },
            [this](const std::string& why, bool was_up) { on_down(why, was_up); }) {
    if (opt.node_id.empty()) opt.node_id = random_node_id();
    reply_channel = wire::reply_channel(opt.node_id);
    on_user_message = [this](redisReply* r) { user_message(r); };
    on_reply_message = [this](redisReply* r) { reply_message(r); };
  }

  const hub::hub& hub;
  redis_options opt;
  std::string reply_channel;
  asio::io_context ioc{1};
  asio::executor_work_guard<asio::io_context::executor_type> guard;
  std::thread thread;
  std::promise<bool> first_connect;
  bool first_connect_set = false;

  // Read by any thread (status()); written on the broker thread.
  std::atomic<bool> connected{false};
  std::atomic<std::uint64_t> rtt_ns{0}, rtt_count{0};

  // Everything below: broker thread only.
  answer_collector requests;
  asio::steady_timer deadline_timer;  // armed for requests.next_deadline()
  std::optional<clock::time_point> armed_for;
  subscription_table subscriptions;
  redis_connection redis;
  redis_link::reply_fn on_user_message, on_reply_message;

  void set_first_connect(bool ok) {
    if (first_connect_set) return;
    first_connect_set = true;
    first_connect.set_value(ok);
  }

  // --- the connection ---
  void on_up() {
    redis.subscriber()->command_with({"SUBSCRIBE", reply_channel}, &on_reply_message);
    auto users = subscriptions.users();
    for (const auto& user : users)
      redis.subscriber()->command_with({"SUBSCRIBE", wire::user_channel(user)}, &on_user_message);
    connected = true;
    spdlog::info("cluster: connected to Redis {}:{} as node {} ({} users resubscribed)",
                 opt.where.host, opt.where.port, opt.node_id, users.size());
    set_first_connect(true);
  }

  void on_down(const std::string& why, bool was_up) {
    connected = false;
    if (was_up)
      spdlog::warn(
          "cluster: lost Redis ({}); publishes reach this node's sockets only until it is back",
          why);
    else
      spdlog::warn("cluster: cannot reach Redis {}:{} ({}); retrying", opt.where.host,
                   opt.where.port, why);
    set_first_connect(false);
    // Sockets waiting for a subscription open anyway (degraded: local only).
    for (auto& ready : subscriptions.lost()) ready();
  }

  // --- origin side ---
  void publish(std::shared_ptr<const protocol::envelope> env, hub::deadline until,
               hub::delivery_callback done) {
    redis_link* cmd = redis.commands();
    if (!cmd) return degraded(std::move(env), until, std::move(done));
    // Nodes answer at `until` minus a margin at the latest; with a very short
    // wait (ackTimeoutMs 0) they answer at once with their counts, which
    // still take a Redis round trip to arrive.
    std::uint64_t id = requests.open(std::max(until, clock::now() + min_collect), std::move(done));
    arm_deadline();
    auto remaining = std::chrono::duration_cast<std::chrono::milliseconds>(until - clock::now());
    wire::publish_message msg{opt.node_id, id,
                              static_cast<std::uint64_t>(std::max<long long>(0, remaining.count())),
                              env->text};
    auto sent_at = clock::now();
    bool sent = cmd->command({"PUBLISH", wire::user_channel(env->user_id), wire::encode(msg)},
                             [this, id, env, until, sent_at](redisReply* r) {
                               if (r) record_rtt(clock::now() - sent_at);
                               if (!r || r->type != REDIS_REPLY_INTEGER) {
                                 // The PUBLISH was lost with the connection: deliver locally
                                 // instead.
                                 if (auto done = requests.withdraw(id))
                                   degraded(env, until, std::move(*done));
                                 return;
                               }
                               complete(requests.expect(id, static_cast<std::size_t>(r->integer)));
                             });
    if (!sent)
      if (auto done = requests.withdraw(id)) degraded(std::move(env), until, std::move(*done));
  }

  void degraded(std::shared_ptr<const protocol::envelope> env, hub::deadline until,
                hub::delivery_callback done) {
    core::log_refusal(spdlog::level::warn,
                      "cluster: Redis unavailable; publish to {} reaches this node's sockets only",
                      env->user_id);
    hub.deliver(std::move(env), until, std::move(done));
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

  // --- every node: a publish for one of our users ---
  void user_message(redisReply* r) {
    if (!r || r->type != REDIS_REPLY_ARRAY || r->elements < 3) return;
    std::string_view kind = reply_str(r->element[0]);
    if (kind == "subscribe") {
      if (auto user = wire::user_of_channel(reply_str(r->element[1])))
        for (auto& ready : subscriptions.confirmed(*user)) ready();
      return;
    }
    if (kind != "message") return;
    auto msg = wire::decode_publish(reply_str(r->element[2]));
    auto env = msg ? protocol::parse_envelope(msg->envelope) : std::nullopt;
    if (!env) {
      core::log_refusal(spdlog::level::warn, "cluster: ignored a malformed publish message");
      return;
    }
    auto wait = std::chrono::milliseconds(msg->wait_ms);
    auto until =
        clock::now() + (wait > reply_margin ? wait - reply_margin : std::chrono::milliseconds(0));
    hub.deliver(
        std::make_shared<const protocol::envelope>(std::move(*env)), until,
        [this, origin = std::move(msg->origin), id = msg->request](hub::delivery_result res) {
          asio::post(ioc, [this, origin, id, res = std::move(res)]() mutable {
            answer(origin, id, std::move(res));
          });
        });
  }

  void answer(const std::string& origin, std::uint64_t id, hub::delivery_result res) {
    if (origin == opt.node_id)
      return complete(requests.answer(id, res.client_count, std::move(res.results)));
    if (redis_link* cmd = redis.commands())
      cmd->command({"PUBLISH", wire::reply_channel(origin),
                    wire::encode(wire::node_answer{id, res.client_count, std::move(res.results)})},
                   [](redisReply*) {});
  }

  // --- origin: another node's answer ---
  void reply_message(redisReply* r) {
    if (!r || r->type != REDIS_REPLY_ARRAY || r->elements < 3 ||
        reply_str(r->element[0]) != "message")
      return;
    auto a = wire::decode_answer(reply_str(r->element[2]));
    if (!a) {
      core::log_refusal(spdlog::level::warn, "cluster: ignored a malformed node answer");
      return;
    }
    complete(requests.answer(a->request, a->count, std::move(a->results)));
  }

  // --- presence ---
  void opening(const std::string& user, std::function<void()> ready) {
    switch (subscriptions.opening(user, connected, ready)) {
      case subscription_table::action::ready:
        return ready();
      case subscription_table::action::wait:
        return;
      case subscription_table::action::subscribe:
        if (redis_link* sub = redis.subscriber())
          sub->command_with({"SUBSCRIBE", wire::user_channel(user)}, &on_user_message);
        return;
    }
  }

  void closed(const std::string& user) {
    if (!subscriptions.closed(user)) return;
    if (redis_link* sub = redis.subscriber())
      sub->command({"UNSUBSCRIBE", wire::user_channel(user)}, nullptr);
  }
};

redis_broker::redis_broker(const hub::hub& h, redis_options opt)
    : impl_(std::make_unique<impl>(h, std::move(opt))) {}

redis_broker::~redis_broker() { stop(); }

const std::string& redis_broker::node_id() const noexcept { return impl_->opt.node_id; }

void redis_broker::start() {
  auto& m = *impl_;
  auto first = m.first_connect.get_future();
  asio::post(m.ioc, [&m] { m.redis.start(); });
  m.thread = std::thread([&m] { m.ioc.run(); });
  if (m.opt.required) {
    if (first.wait_for(required_connect) != std::future_status::ready || !first.get())
      throw std::runtime_error("cannot connect to Redis at " + m.opt.where.host + ":" +
                               std::to_string(m.opt.where.port) + " (REDIS_REQUIRED is set)");
  }
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
    for (auto& ready : m.subscriptions.lost()) ready();
    for (auto& c : m.requests.take_all()) c.done(std::move(c.result));
    m.deadline_timer.cancel();
    m.redis.stop();
    m.guard.reset();
  });
  m.thread.join();
  m.connected = false;
}

broker_status redis_broker::status() const {
  return {
      impl_->connected ? metrics::cluster_state::connected : metrics::cluster_state::disconnected,
      double(impl_->rtt_ns.load(std::memory_order_relaxed)) / 1e9,
      impl_->rtt_count.load(std::memory_order_relaxed)};
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

void redis_broker::socket_closed(const std::string& user) {
  asio::post(impl_->ioc, [m = impl_.get(), user] { m->closed(user); });
}

}  // namespace hf::broker
