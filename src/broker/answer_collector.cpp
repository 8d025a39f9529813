#include "broker/answer_collector.hpp"

namespace hf::broker {

std::uint64_t answer_collector::open(time_point deadline, std::string envelope_id,
                                     hub::delivery_callback done) {
  std::uint64_t id = next_id_++;
  auto [it, added] = requests_.emplace(
      id,
      request{
          std::move(done), std::move(envelope_id), -1, 0, false, 0, ack::result_list(limits_), {}});
  it->second.at = deadlines_.emplace(deadline, id);
  return id;
}

std::optional<answer_collector::completion> answer_collector::expect(std::uint64_t id,
                                                                     std::size_t nodes) {
  auto it = requests_.find(id);
  if (it == requests_.end()) return std::nullopt;
  it->second.expected = static_cast<long>(nodes);
  return complete_if_done(it);
}

void answer_collector::lost(std::uint64_t id) {
  if (auto it = requests_.find(id); it != requests_.end()) it->second.lost = true;
}

std::optional<answer_collector::completion> answer_collector::answer(
    std::uint64_t id, std::string_view envelope_id, std::size_t count, std::size_t dropped,
    std::vector<std::string> results) {
  auto it = requests_.find(id);
  // Answered already (deadline), or an answer to another publish.
  if (it == requests_.end() || it->second.envelope_id != envelope_id) return std::nullopt;
  auto& r = it->second;
  r.count += count;
  r.results.add_dropped(dropped);
  for (auto& s : results) r.results.add(std::move(s));
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
    requests_.find(id)->second.at = deadlines_.emplace(by, id);
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
  auto& r = it->second;
  hub::delivery_result result{r.count, std::move(r.results.items()), r.results.dropped(), {}};
  if (r.lost || r.expected < 0)
    result.degraded = metrics::degradation::unknown;
  else if (r.received < r.expected)
    result.degraded = metrics::degradation::partial;
  completion c{std::move(r.done), std::move(result)};
  deadlines_.erase(r.at);
  requests_.erase(it);
  return c;
}

}  // namespace hf::broker
