#include "ack/late_acks.hpp"

#include <algorithm>

namespace hf::ack {

bool late_acks::watch(const std::string& envelope_id, const std::string& user,
                      clock::time_point arrived, clock::time_point ends,
                      std::vector<target> waiting) {
  if (waiting.empty() || entries_.size() >= max_envelopes ||
      targets_ + waiting.size() > max_targets || entries_.contains(envelope_id))
    return false;
  if (order_.size() >= 2 * max_envelopes)  // mostly ids take() finished: drop those
    std::erase_if(order_, [this](const auto& o) { return !entries_.contains(o.second); });
  targets_ += waiting.size();
  entries_.emplace(envelope_id, entry{user, arrived, ends, std::move(waiting)});
  order_.emplace_back(ends, envelope_id);
  return true;
}

std::optional<late_acks::taken> late_acks::take(std::string_view envelope_id, std::string_view user,
                                                std::uint64_t socket, clock::time_point now) {
  auto it = entries_.find(envelope_id);
  if (it == entries_.end()) return std::nullopt;
  entry& e = it->second;
  if (e.user != user || now > e.ends) return std::nullopt;
  auto t = std::find_if(e.waiting.begin(), e.waiting.end(),
                        [socket](const target& w) { return w.socket == socket; });
  if (t == e.waiting.end()) return std::nullopt;
  taken out{std::move(t->device), e.arrived};
  *t = std::move(e.waiting.back());
  e.waiting.pop_back();
  --targets_;
  if (e.waiting.empty()) entries_.erase(it);  // its id in order_ is skipped later
  return out;
}

void late_acks::expire(clock::time_point now) {
  while (!order_.empty() && order_.front().first <= now) {
    auto it = entries_.find(order_.front().second);
    // The id may be a later watch of the same envelope only if it was
    // forgotten first; its own window then ends later, so it stays.
    if (it != entries_.end() && it->second.ends <= now) {
      targets_ -= it->second.waiting.size();
      entries_.erase(it);
    }
    order_.pop_front();
  }
}

}  // namespace hf::ack
