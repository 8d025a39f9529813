// hub::shard, sections 11-13 of docs/protocol.md: one socket per device
// (4002 replaced), `cancel` frames once a publish is answered, and the
// roster of a user's open sockets.
#include <spdlog/spdlog.h>

#include "core/log.hpp"
#include "core/text.hpp"
#include "hub/shard.hpp"
#include "hub/shard_state.hpp"

namespace hf::hub {

void shard::replace_here(user_state& u, std::string_view device, std::int64_t before_ms,
                         bool same_ms_too) {
  std::vector<connection*> older;
  for (connection* c : u.connections)
    if (c->device_ && *c->device_ == device &&
        (c->since_ms_ < before_ms || (same_ms_too && c->since_ms_ == before_ms)))
      older.push_back(c);
  for (connection* c : older) {
    core::log_refusal(spdlog::level::info,
                      "closing socket of user {}: replaced by a newer socket of device {} (4002)",
                      core::printable(u.id), core::printable(device));
    c->close_requested_ = true;
    c->close(metrics::close_reason::replaced);  // retires it on the next turn
    // A publish waiting on it stops now (the successor is the one to ack).
    std::vector<std::string> completed;
    for (auto& [id, p] : u.pending)
      if (p->acks.on_gone(c->id_) && p->acks.complete()) completed.push_back(id);
    for (const auto& id : completed) finish(u, id);
  }
}

void shard::replace_device(std::string_view user_id, std::string_view device, std::int64_t since_ms,
                           bool close_if_same_ms) {
  auto it = users_.find(user_id);
  if (it == users_.end()) return;
  replace_here(*it->second, device, since_ms, close_if_same_ms);
}

void shard::end_publish(std::string_view user_id, std::string_view envelope_id) {
  auto it = users_.find(user_id);
  if (it == users_.end()) return;
  user_state& u = *it->second;
  if (!u.pending.contains(envelope_id)) return;
  finish(u, envelope_id, metrics::completion::count_reached);
  erase_if_idle(u);
}

std::vector<protocol::roster_entry> shard::roster(std::string_view user_id) const {
  std::vector<protocol::roster_entry> out;
  auto it = users_.find(user_id);
  if (it == users_.end()) return out;
  for (const connection* c : it->second->connections)
    out.push_back(
        {c->device_ ? std::optional<std::string>(*c->device_) : std::nullopt, c->since_ms_});
  return out;
}

void shard::send_cancels(user_state& u, const pending_publish& p, std::string_view envelope_id) {
  auto ids = p.acks.unacked_named();
  if (ids.empty()) return;
  auto frame = std::make_shared<const std::string>(protocol::serialize_cancel(envelope_id));
  for (connection* c : u.connections)
    if (std::binary_search(ids.begin(), ids.end(), c->id_) && accepted(c->send_text(frame)) &&
        counters_)
      ++counters_->cancels_sent;
}

}  // namespace hf::hub
