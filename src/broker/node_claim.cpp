#include "broker/node_claim.hpp"

#include <spdlog/spdlog.h>

#include <memory>

namespace hf::broker {

node_claim::node_claim(boost::asio::io_context& ioc, redis_backend& redis,
                       const store::commands& cmds, std::string node_id, std::string incarnation,
                       std::function<void()> tick)
    : ioc_(ioc),
      redis_(redis),
      cmds_(cmds),
      node_id_(std::move(node_id)),
      incarnation_(std::move(incarnation)),
      tick_(std::move(tick)),
      timer_(ioc) {}

void node_claim::claim() {
  if (!redis_.up()) return;
  auto c = cmds_.claim(node_id_, incarnation_);
  // By EVAL: once every 5 s, not worth a NOSCRIPT round.
  redis_.command(c.argv(true), c.key(), [this](redisReply* r) {
    auto held = store::read_claim(r);
    if (!held) return;
    bool dup = !*held;
    if (dup && !duplicate())
      spdlog::warn(
          "cluster: another live node also uses NODE_ID {} (or an earlier run of this node ended "
          "without stopping, less than 15 s ago); answers stay apart (each process has its own "
          "reply channel) but logs and metrics are ambiguous: give every node its own NODE_ID",
          node_id_);
    duplicate_.store(dup, std::memory_order_relaxed);
  });
  tick_();
  timer_.expires_after(store::claim_every);
  timer_.async_wait([this](boost::system::error_code ec) {
    if (!ec) claim();
  });
}

void node_claim::release(std::function<void()> done) {
  timer_.cancel();
  auto finish = std::make_shared<std::function<void()>>(std::move(done));
  auto once = [finish] {
    if (auto f = std::exchange(*finish, nullptr)) f();
  };
  auto c = cmds_.release(node_id_, incarnation_);
  if (!redis_.up() || !redis_.command(c.argv(true), c.key(), [once](redisReply*) { once(); }))
    return once();
  timer_.expires_after(release_wait);
  timer_.async_wait([once](boost::system::error_code) { once(); });
}

}  // namespace hf::broker
