#include "ack/users_tally.hpp"

namespace hf::ack {

users_tally::users_tally(std::vector<protocol::user_answer> users, std::size_t max_results_bytes)
    : users_(std::move(users)),
      answered_(users_.size(), false),
      budget_(max_results_bytes),
      waiting_(users_.size()) {}

bool users_tally::add(std::size_t i, hub::delivery_result r) {
  if (i >= users_.size() || answered_[i]) return false;
  answered_[i] = true;
  --waiting_;
  protocol::user_answer& u = users_[i];
  u.client_count = r.client_count;
  u.dropped = r.dropped;
  u.devices = std::move(r.receipts);
  u.results.reserve(r.results.size());
  // With receipts, results[k] is the k-th acked receipt that has a result
  // (section 12); `next` walks those alongside.
  auto next = u.devices.begin();
  for (auto& text : r.results) {
    while (next != u.devices.end() &&
           !(next->state == protocol::receipt_state::acked && next->result))
      ++next;
    // Each kept result also costs a comma (as in ack::result_list).
    if (text.size() + 1 <= budget_) {
      budget_ -= text.size() + 1;
      u.results.push_back(std::move(text));
    } else {
      ++u.dropped;
      if (next != u.devices.end()) next->result.reset();
    }
    if (next != u.devices.end()) ++next;
  }
  client_count_ += u.client_count;
  dropped_ += u.dropped;
  if (r.degraded && (!degraded_ || *r.degraded > *degraded_)) degraded_ = r.degraded;
  return waiting_ == 0;
}

}  // namespace hf::ack
