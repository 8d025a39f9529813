#include "broker/answer_collector.hpp"

namespace hf::broker {

std::uint64_t answer_collector::open(time_point deadline, hub::delivery_callback done) {
  std::uint64_t id = next_id_++;
  auto& r = requests_[id];
  r.done = std::move(done);
  r.at = deadlines_.emplace(deadline, id);
  return id;
}

std::optional<answer_collector::completion> answer_collector::expect(std::uint64_t id,
                                                                     std::size_t nodes) {
  auto it = requests_.find(id);
  if (it == requests_.end()) return std::nullopt;
  it->second.expected = static_cast<long>(nodes);
  return complete_if_done(it);
}

std::optional<answer_collector::completion> answer_collector::answer(
    std::uint64_t id, std::size_t count, std::vector<std::string> results) {
  auto it = requests_.find(id);
  if (it == requests_.end()) return std::nullopt;  // answered already (deadline)
  auto& r = it->second;
  r.result.client_count += count;
  for (auto& s : results) r.result.results.push_back(std::move(s));
  ++r.received;
  return complete_if_done(it);
}

std::optional<hub::delivery_callback> answer_collector::withdraw(std::uint64_t id) {
  auto it = requests_.find(id);
  if (it == requests_.end()) return std::nullopt;
  hub::delivery_callback done = std::move(it->second.done);
  deadlines_.erase(it->second.at);
  requests_.erase(it);
  return done;
}

std::vector<answer_collector::completion> answer_collector::expire(time_point now) {
  std::vector<completion> out;
  while (!deadlines_.empty() && deadlines_.begin()->first <= now)
    out.push_back(finish(requests_.find(deadlines_.begin()->second)));
  return out;
}

void answer_collector::shorten(time_point by) {
  for (auto d = deadlines_.upper_bound(by); d != deadlines_.end();) {
    std::uint64_t id = d->second;
    d = deadlines_.erase(d);
    requests_[id].at = deadlines_.emplace(by, id);
  }
}

std::vector<answer_collector::completion> answer_collector::take_all() {
  std::vector<completion> out;
  while (!requests_.empty()) out.push_back(finish(requests_.begin()));
  return out;
}

std::optional<answer_collector::time_point> answer_collector::next_deadline() const {
  if (deadlines_.empty()) return std::nullopt;
  return deadlines_.begin()->first;
}

std::optional<answer_collector::completion> answer_collector::complete_if_done(iterator it) {
  const auto& r = it->second;
  if (r.expected < 0 || r.received < r.expected) return std::nullopt;
  return finish(it);
}

answer_collector::completion answer_collector::finish(iterator it) {
  completion c{std::move(it->second.done), std::move(it->second.result)};
  deadlines_.erase(it->second.at);
  requests_.erase(it);
  return c;
}

}  // namespace hf::broker
