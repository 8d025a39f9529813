// hub::shard, section 14 of docs/protocol.md: acks that come after the
// answer of a publish with `"webhook": true`. Each target that had not
// acked when the publish was answered stays one that may ack until
// LATE_ACK_MS after the publish arrived; its ack then becomes a `late_ack`
// event, made here, on the node that holds the socket (so each is sent
// once, by one node), and handed to the webhook sender.
#include "hub/shard.hpp"
#include "hub/shard_state.hpp"

namespace hf::hub {

void shard::watch_late_acks(const pending_publish& p, const std::string& user,
                            std::string_view envelope_id) {
  auto now = std::chrono::steady_clock::now();
  late_.expire(now);  // also without heartbeats (HEARTBEAT_INTERVAL_MS=0)
  auto ends = p.arrived + late_window_;
  if (ends <= now) return;
  auto waiting = p.acks.waiting();
  if (waiting.empty()) return;
  if (!late_.watch(std::string(envelope_id), user, p.arrived, ends, std::move(waiting)) &&
      counters_)
    ++counters_->late_watches_refused;
}

void shard::on_late_ack(connection& c, std::string_view envelope_id, std::string& result_json) {
  auto now = std::chrono::steady_clock::now();
  auto taken = late_.take(envelope_id, c.user_->id, c.id_, now);
  if (!taken) return;
  if (counters_) ++counters_->acks;
  protocol::late_ack a;
  a.envelope_id.assign(envelope_id);
  a.user_id = c.user_->id;
  a.device = std::move(taken->device);
  a.result_json = std::move(result_json);
  a.ack_ms = std::chrono::duration_cast<std::chrono::milliseconds>(now - taken->arrived).count();
  late_sink_(std::move(a));
}

}  // namespace hf::hub
