#include "broker/node_delivery.hpp"

#include <spdlog/spdlog.h>

#include <boost/asio/post.hpp>

#include "broker/cluster_slots.hpp"
#include "core/log.hpp"

namespace hf::broker {
namespace {
// A node answers this much before the origin's deadline, so that its
// answer can still arrive in time.
constexpr auto reply_margin = std::chrono::milliseconds(10);
}  // namespace

void node_delivery::on_publish(std::string_view channel, std::string_view payload) {
  auto msg = wire::decode_publish(payload);
  auto env = msg ? protocol::parse_envelope(msg->envelope) : std::nullopt;
  if (!env) {
    core::log_refusal(spdlog::level::warn, "cluster: ignored a malformed publish message");
    return;
  }
  if (redis_.sharded() && !fence_.admit(slots::key_slot(channel), msg->epoch)) {
    // Its origin answered without it long ago (or will, at its deadline).
    core::log_refusal(spdlog::level::warn,
                      "cluster: ignored an envelope of epoch {} written by a superseded master",
                      msg->epoch);
    return;
  }
  env->epoch = msg->epoch;
  env->offset = msg->offset;
  auto wait = std::chrono::milliseconds(msg->wait_ms);
  auto until = std::chrono::steady_clock::now() +
               (wait > reply_margin ? wait - reply_margin : std::chrono::milliseconds(0));
  std::string envelope_id = env->id;
  hub_.deliver(std::make_shared<const protocol::envelope>(std::move(*env)), until,
               [this, m = std::move(*msg), envelope_id](hub::delivery_result res) mutable {
                 boost::asio::post(
                     ioc_, [this, m = std::move(m), envelope_id, res = std::move(res)]() mutable {
                       answer(m, envelope_id, std::move(res));
                     });
               });
}

void node_delivery::answer(const wire::publish_message& m, const std::string& envelope_id,
                           hub::delivery_result res) {
  if (replies_.mine(m.incarnation))  // this process took it: no Redis round trip
    return origin_.answer(m.request, envelope_id, res.client_count, res.dropped,
                          std::move(res.results));
  if (!redis_.up()) return;  // the origin answers at its deadline without this node
  auto argv = cmds_.answer({m.incarnation, m.request, envelope_id, res.client_count, res.dropped,
                            std::move(res.results)},
                           m.node, m.incarnation);
  std::string_view channel = argv[1];  // routes it; the backend keeps its own copy
  redis_.command(std::move(argv), channel, [](redisReply*) {});
}

}  // namespace hf::broker
