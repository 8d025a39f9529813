#include "ack/ack_collector.hpp"

#include <algorithm>

namespace hf::ack {

ack_collector::ack_collector(std::vector<std::uint64_t> targets, result_limits limits)
    : targets_(std::move(targets)), results_(limits) {
  std::sort(targets_.begin(), targets_.end());
  targets_.erase(std::unique(targets_.begin(), targets_.end()), targets_.end());
  states_.assign(targets_.size(), state::waiting);
  outstanding_ = targets_.size();
  results_.items().reserve(std::min<std::size_t>(targets_.size(), 64));
}

std::ptrdiff_t ack_collector::find(std::uint64_t socket) const noexcept {
  auto it = std::lower_bound(targets_.begin(), targets_.end(), socket);
  if (it == targets_.end() || *it != socket) return -1;
  return it - targets_.begin();
}

bool ack_collector::on_ack(std::uint64_t socket, std::string result_json) {
  std::ptrdiff_t i = find(socket);
  if (i < 0 || states_[i] != state::waiting) return false;
  states_[i] = state::acked;
  --outstanding_;
  results_.add(std::move(result_json));
  return true;
}

bool ack_collector::on_gone(std::uint64_t socket) {
  std::ptrdiff_t i = find(socket);
  if (i < 0 || states_[i] != state::waiting) return false;
  states_[i] = state::gone;
  --outstanding_;
  return true;
}

}  // namespace hf::ack
