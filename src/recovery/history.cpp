#include "recovery/history.hpp"

namespace hf::recovery {

history::history(history_limits limits, std::function<std::string()> new_epoch,
                 socket_count sockets_of)
    : limits_(limits), new_epoch_(std::move(new_epoch)), sockets_of_(std::move(sockets_of)) {}

std::size_t history::cost(const record& r) noexcept {
  const auto& e = *r.env;
  return sizeof(record) + sizeof(protocol::envelope) + 48 + 2 * e.text.size() + e.id.size() +
         e.type.size() + e.user_id.size();
}
std::size_t history::cost(const stream& s) noexcept {
  return sizeof(stream) + 2 * s.user.size() + s.epoch.size() + 160;
}

history::stream& history::get(const std::string& user, time_point now) {
  auto it = streams_.find(user);
  if (it != streams_.end()) return it->second;
  stream& s = streams_[user];
  s.user = user;
  s.epoch = new_epoch_();
  s.touched = now;
  s.sockets = sockets_of_ ? sockets_of_(user) : 0;
  bytes_ += cost(s);
  if (idle(s)) idle_.emplace(now, &s);
  return s;
}

void history::update_idle(stream& s, bool was_idle) {
  bool now_idle = idle(s);
  if (was_idle == now_idle) return;
  if (now_idle)
    idle_.emplace(s.touched, &s);
  else
    idle_.erase({s.touched, &s});
}

history::stamp history::append(std::shared_ptr<const protocol::envelope> env, time_point now) {
  std::size_t before = streams_.size();
  stream& s = get(env->user_id, now);
  bool fresh = streams_.size() != before;
  bool was_idle = idle(s);
  if (was_idle) idle_.erase({s.touched, &s});
  s.touched = now;
  std::uint64_t offset = ++s.latest;
  if (limits_.per_user > 0) {
    if (s.kept.empty()) oldest_.emplace(now, &s);
    s.kept.push_back(record{offset, now, std::move(env)});
    bytes_ += cost(s.kept.back());
    ++records_;
    while (s.kept.size() > limits_.per_user) drop_front(s);
  }
  if (idle(s)) idle_.emplace(s.touched, &s);
  stamp made{offset, fresh, s.epoch};  // before the budget may forget an idle stream
  enforce_budget();
  return made;
}

void history::drop_front(stream& s) {
  auto node = oldest_.extract({s.kept.front().at, &s});
  bytes_ -= cost(s.kept.front());
  --records_;
  s.kept.pop_front();
  if (s.kept.empty()) {
    s.kept.release();
    return;
  }
  // The stream's place moves to its new oldest record: the same set node,
  // re-keyed (no allocation on the publish path of a full history).
  node.value().first = s.kept.front().at;
  oldest_.insert(std::move(node));
}

history::position history::at(const std::string& user, time_point now) {
  stream& s = get(user, now);
  return {s.epoch, s.latest};
}

history::since_result history::since(const std::string& user, std::string_view epoch,
                                     std::uint64_t offset) const {
  since_result r;
  auto it = streams_.find(user);
  if (it == streams_.end() || it->second.epoch != epoch) return r;
  const stream& s = it->second;
  if (offset > s.latest) return r;  // a position this epoch never reached
  std::uint64_t first = s.kept.empty() ? s.latest + 1 : s.kept.front().offset;
  r.complete = first <= offset + 1;
  for (std::size_t i = 0; i < s.kept.size(); ++i)
    if (s.kept[i].offset > offset) r.records.push_back(&s.kept[i]);
  return r;
}

void history::pin(const std::string& user, time_point now) {
  auto it = streams_.find(user);
  if (it == streams_.end()) return;  // counted by sockets_of when a stream is made
  stream& s = it->second;
  bool was_idle = idle(s);
  ++s.sockets;
  update_idle(s, was_idle);
}

void history::unpin(const std::string& user, time_point now) {
  auto it = streams_.find(user);
  if (it == streams_.end() || it->second.sockets == 0) return;
  stream& s = it->second;
  bool was_idle = idle(s);
  --s.sockets;
  update_idle(s, was_idle);
  expire(now);
}

void history::forget(stream& s) {
  idle_.erase({s.touched, &s});
  bytes_ -= cost(s);
  streams_.erase(streams_.find(s.user));  // by iterator: the key dies with the entry
}

void history::expire(time_point now) {
  while (!oldest_.empty() && oldest_.begin()->first + limits_.ttl <= now) {
    stream& s = *oldest_.begin()->second;
    bool was_idle = idle(s);
    drop_front(s);
    update_idle(s, was_idle);
  }
  while (!idle_.empty() && idle_.begin()->first + limits_.ttl <= now)
    forget(*idle_.begin()->second);
}

void history::enforce_budget() {
  while (bytes_ > limits_.max_bytes) {
    bool records = !oldest_.empty();
    bool streams = !idle_.empty();
    if (!records && !streams) return;  // only pinned, empty streams left
    // The oldest thing goes first: a record, or a stream nobody uses.
    if (records && (!streams || oldest_.begin()->first <= idle_.begin()->first)) {
      stream& s = *oldest_.begin()->second;
      bool was_idle = idle(s);
      drop_front(s);
      update_idle(s, was_idle);
    } else {
      forget(*idle_.begin()->second);
    }
  }
}

}  // namespace hf::recovery
