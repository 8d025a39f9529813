#include "ack/ack_collector.hpp"

#include <algorithm>
#include <numeric>

namespace hf::ack {

ack_collector::ack_collector(std::vector<std::uint64_t> targets, result_limits limits)
    : targets_(std::move(targets)), results_(limits) {
  std::sort(targets_.begin(), targets_.end());
  targets_.erase(std::unique(targets_.begin(), targets_.end()), targets_.end());
  states_.assign(targets_.size(), state::waiting);
  outstanding_ = targets_.size();
  results_.items().reserve(std::min<std::size_t>(targets_.size(), 64));
}

ack_collector::ack_collector(std::vector<target> targets, result_limits limits, std::uint32_t until)
    : results_(limits), until_(until), book_(std::make_unique<book>()) {
  std::sort(targets.begin(), targets.end(),
            [](const target& a, const target& b) { return a.socket < b.socket; });
  targets.erase(std::unique(targets.begin(), targets.end(),
                            [](const target& a, const target& b) { return a.socket == b.socket; }),
                targets.end());
  targets_.reserve(targets.size());
  book_->devices.reserve(targets.size());
  for (auto& t : targets) {
    targets_.push_back(t.socket);
    book_->devices.push_back(std::move(t.device));
  }
  states_.assign(targets_.size(), state::waiting);
  outstanding_ = targets_.size();
}

std::ptrdiff_t ack_collector::find(std::uint64_t socket) const noexcept {
  auto it = std::lower_bound(targets_.begin(), targets_.end(), socket);
  if (it == targets_.end() || *it != socket) return -1;
  return it - targets_.begin();
}

bool ack_collector::on_ack(std::uint64_t socket, std::string result_json, std::int64_t ack_ms) {
  std::ptrdiff_t i = find(socket);
  if (i < 0 || states_[i] != state::waiting) return false;
  states_[i] = state::acked;
  --outstanding_;
  ++acked_;
  bool kept = results_.add(std::move(result_json));
  if (book_)
    book_->acks.push_back({static_cast<std::uint32_t>(i), ack_ms,
                           kept ? static_cast<std::int32_t>(results_.items().size() - 1) : -1});
  return true;
}

bool ack_collector::on_gone(std::uint64_t socket) {
  std::ptrdiff_t i = find(socket);
  if (i < 0 || states_[i] != state::waiting) return false;
  states_[i] = state::gone;
  --outstanding_;
  return true;
}

std::vector<protocol::receipt> ack_collector::receipts() const {
  std::vector<protocol::receipt> out;
  if (!book_) return out;
  out.reserve(targets_.size());
  for (const auto& a : book_->acks) {
    protocol::receipt r{book_->devices[a.target], protocol::receipt_state::acked, {}, a.ack_ms};
    if (a.result >= 0) r.result = results_.items()[static_cast<std::size_t>(a.result)];
    out.push_back(std::move(r));
  }
  for (auto want : {state::waiting, state::gone})
    for (std::size_t i = 0; i < targets_.size(); ++i)
      if (states_[i] == want)
        out.push_back({book_->devices[i],
                       want == state::waiting ? protocol::receipt_state::pending
                                              : protocol::receipt_state::gone,
                       {},
                       0});
  return out;
}

protocol::receipt ack_collector::last_ack() const {
  const acked_entry& a = book_->acks.back();
  protocol::receipt r{book_->devices[a.target], protocol::receipt_state::acked, {}, a.ack_ms};
  if (a.result >= 0) r.result = results_.items()[static_cast<std::size_t>(a.result)];
  return r;
}

std::vector<std::uint64_t> ack_collector::unacked_named() const {
  std::vector<std::uint64_t> out;
  if (!book_) return out;
  for (std::size_t i = 0; i < targets_.size(); ++i)
    if (states_[i] == state::waiting && book_->devices[i]) out.push_back(targets_[i]);
  return out;
}

std::vector<target> ack_collector::waiting() const {
  std::vector<target> out;
  if (!book_) return out;
  for (std::size_t i = 0; i < targets_.size(); ++i)
    if (states_[i] == state::waiting) out.push_back({targets_[i], book_->devices[i]});
  return out;
}

}  // namespace hf::ack
