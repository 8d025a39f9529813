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

wire::node_answer answer_to(const wire::publish_message& m, const std::string& envelope_id,
                            std::size_t count, std::size_t dropped) {
  wire::node_answer a;
  a.incarnation = m.incarnation;
  a.request = m.request;
  a.envelope_id = envelope_id;
  a.count = count;
  a.dropped = dropped;
  return a;
}
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
  env->options = msg->options;
  auto now = std::chrono::steady_clock::now();
  env->arrived =
      now - std::chrono::milliseconds(msg->elapsed_ms);  // ackMs from the origin's arrival
  auto wait = std::chrono::milliseconds(msg->wait_ms);
  auto until = now + (wait > reply_margin ? wait - reply_margin : std::chrono::milliseconds(0));
  std::string envelope_id = env->id;
  // With `until`, the origin hears this node's targets at once and each ack
  // as it comes (`reported`: written on the shard's thread before the
  // answer is posted from there).
  auto reported = std::make_shared<bool>(false);
  hub::ack_progress progress;
  if (msg->options.until)
    progress = [this, m = *msg, envelope_id, reported](std::vector<protocol::receipt> r) {
      bool initial = !std::exchange(*reported, true);
      boost::asio::post(ioc_, [this, m, envelope_id, initial, r = std::move(r)]() mutable {
        auto a = answer_to(m, envelope_id, initial ? r.size() : 0, 0);
        a.receipts = true;
        a.step = initial ? wire::node_answer::phase::initial : wire::node_answer::phase::ack;
        a.entries = std::move(r);
        send(m, std::move(a));
      });
    };
  hub_.deliver(
      std::make_shared<const protocol::envelope>(std::move(*env)), until,
      [this, m = std::move(*msg), envelope_id, reported](hub::delivery_result res) mutable {
        boost::asio::post(ioc_, [this, m = std::move(m), envelope_id, res = std::move(res),
                                 reported = *reported]() mutable {
          answer(m, envelope_id, std::move(res), reported);
        });
      },
      std::move(progress));
}

void node_delivery::on_end(std::string_view user, std::string_view payload) {
  if (auto id = wire::decode_end(payload)) hub_.end_publish(std::string(user), std::string(*id));
}

void node_delivery::send(const wire::publish_message& m, wire::node_answer a) {
  if (replies_.mine(m.incarnation)) return origin_.receipts(std::move(a));
  if (!redis_.up()) return;
  auto argv = cmds_.answer(a, m.node, m.incarnation);
  std::string_view channel = argv[1];
  redis_.command(std::move(argv), channel, [](redisReply*) {});
}

void node_delivery::answer(const wire::publish_message& m, const std::string& envelope_id,
                           hub::delivery_result res, bool reported) {
  if (m.options.any()) {
    auto a = answer_to(m, envelope_id, res.client_count, res.dropped);
    a.receipts = true;
    a.step =
        reported ? wire::node_answer::phase::final_after_initial : wire::node_answer::phase::final;
    a.entries = std::move(res.receipts);
    if (reported)  // the acks went one by one already
      std::erase_if(a.entries, [](const protocol::receipt& r) {
        return r.state == protocol::receipt_state::acked;
      });
    return send(m, std::move(a));
  }
  if (replies_.mine(m.incarnation))  // this process took it: no Redis round trip
    return origin_.answer(m.request, envelope_id, res.client_count, res.dropped,
                          std::move(res.results));
  if (!redis_.up()) return;  // the origin answers at its deadline without this node
  auto a = answer_to(m, envelope_id, res.client_count, res.dropped);
  a.results = std::move(res.results);
  auto argv = cmds_.answer(a, m.node, m.incarnation);
  std::string_view channel = argv[1];  // routes it; the backend keeps its own copy
  redis_.command(std::move(argv), channel, [](redisReply*) {});
}

}  // namespace hf::broker
