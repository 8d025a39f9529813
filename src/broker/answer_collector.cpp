#include "broker/answer_collector.hpp"

#include <unordered_set>

namespace hf::broker {

std::uint64_t answer_collector::open(time_point deadline, std::string envelope_id,
                                     hub::delivery_callback done,
                                     protocol::publish_options options) {
  std::uint64_t id = next_id_++;
  auto [it, added] = requests_.emplace(id, request{std::move(done),
                                                   std::move(envelope_id),
                                                   -1,
                                                   0,
                                                   false,
                                                   0,
                                                   ack::result_list(limits_),
                                                   {},
                                                   options,
                                                   {},
                                                   0,
                                                   0});
  it->second.at = deadlines_.emplace(deadline, id);
  return id;
}

void answer_collector::settle(request& r, protocol::receipt to) {
  for (auto& e : r.entries)
    if (e.state == protocol::receipt_state::pending && e.device == to.device) {
      e = std::move(to);
      return;
    }
  r.entries.push_back(std::move(to));  // never reported pending: kept all the same
}

std::optional<answer_collector::completion> answer_collector::receipts(
    std::uint64_t id, std::string_view envelope_id, wire::node_answer::phase step,
    std::size_t count, std::size_t dropped, std::vector<protocol::receipt> entries) {
  using phase = wire::node_answer::phase;
  auto it = requests_.find(id);
  if (it == requests_.end() || it->second.envelope_id != envelope_id) return std::nullopt;
  auto& r = it->second;
  r.results.add_dropped(dropped);
  if (step == phase::initial || step == phase::final) {
    r.count += count;
    ++r.reported;
  }
  if (step == phase::final || step == phase::final_after_initial) ++r.received;
  for (auto& e : entries) {
    bool ack = e.state == protocol::receipt_state::acked;
    r.acked += ack;
    if (step == phase::initial || step == phase::final)
      r.entries.push_back(std::move(e));
    else if (ack || e.state == protocol::receipt_state::gone)
      settle(r, std::move(e));
  }
  return complete_if_done(it);
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
  if (r.expected < 0) return std::nullopt;
  bool enough = r.options.until && r.acked >= r.options.until && r.reported >= r.expected;
  if (r.received < r.expected && !enough) return std::nullopt;
  return finish(it);
}

answer_collector::completion answer_collector::finish(iterator it) {
  auto& r = it->second;
  hub::delivery_result result;
  result.client_count = r.count;
  if (r.options.any()) {
    // Acked first, by ack time, then pending, then gone; the results are
    // the acked entries' in that order (within the result limits).
    protocol::order_receipts(r.entries);
    // A device that moved between nodes in the millisecond of the fan-out
    // (its replacement and this publish crossing in Redis) may be a target
    // on both: it is one device, listed once in its best state.
    std::unordered_set<std::string_view> seen;
    std::erase_if(r.entries, [&](const protocol::receipt& e) {
      return e.device && !seen.insert(*e.device).second;
    });
    for (auto& e : r.entries)
      if (e.state == protocol::receipt_state::acked && e.result && !r.results.add(*e.result))
        e.result.reset();
    result.receipts = std::move(r.entries);
    result.client_count = result.receipts.size();
  }
  result.why = r.expected >= 0 && r.received >= r.expected     ? metrics::completion::all_done
               : r.options.until && r.acked >= r.options.until ? metrics::completion::count_reached
                                                               : metrics::completion::deadline;
  result.results = std::move(r.results.items());
  result.dropped = r.results.dropped();
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
