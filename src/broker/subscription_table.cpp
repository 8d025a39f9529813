#include "broker/subscription_table.hpp"

namespace hf::broker {

subscription_table::action subscription_table::opening(const std::string& user, bool connected,
                                                       ready_fn& ready) {
  ++sockets_[user];
  if (!connected || subscribed_.count(user)) return action::ready;
  auto& list = waiting_[user];
  list.push_back(std::move(ready));
  return list.size() == 1 ? action::subscribe : action::wait;
}

std::vector<subscription_table::ready_fn> subscription_table::confirmed(std::string_view user) {
  std::string key(user);
  // The reply to a SUBSCRIBE whose sockets all closed before it came (an
  // UNSUBSCRIBE went after it): it proves nothing about the SUBSCRIBE sent
  // for the sockets opening now, whose reply is still to come.
  if (auto s = stale_.find(key); s != stale_.end()) {
    if (--s->second == 0) stale_.erase(s);
    return {};
  }
  // A confirmation for a user whose sockets all closed meanwhile is stale
  // (its UNSUBSCRIBE follows): not recorded.
  if (sockets_.count(key)) subscribed_.insert(key);
  auto w = waiting_.find(key);
  if (w == waiting_.end()) return {};
  auto list = std::move(w->second);
  waiting_.erase(w);
  return list;
}

bool subscription_table::closed(const std::string& user) {
  auto it = sockets_.find(user);
  if (it == sockets_.end() || --it->second > 0) return false;
  sockets_.erase(it);
  subscribed_.erase(user);
  // Every socket that waited has closed; the SUBSCRIBE they waited for is
  // still unanswered: its reply is stale when it comes.
  if (auto w = waiting_.find(user); w != waiting_.end()) {
    waiting_.erase(w);
    if (every_reply_) ++stale_[user];
  }
  return true;
}

std::vector<subscription_table::ready_fn> subscription_table::lost() {
  subscribed_.clear();
  stale_.clear();  // no reply comes on a connection that is gone
  std::vector<ready_fn> out;
  for (auto& [user, list] : waiting_)
    for (auto& f : list) out.push_back(std::move(f));
  waiting_.clear();
  return out;
}

std::vector<subscription_table::ready_fn> subscription_table::lost(std::string_view user) {
  std::string key(user);
  subscribed_.erase(key);
  stale_.erase(key);
  auto w = waiting_.find(key);
  if (w == waiting_.end()) return {};
  auto list = std::move(w->second);
  waiting_.erase(w);
  return list;
}

std::vector<std::string> subscription_table::users() const {
  std::vector<std::string> out;
  out.reserve(sockets_.size());
  for (const auto& [user, n] : sockets_) out.push_back(user);
  return out;
}

bool subscription_table::subscribed(std::string_view user) const {
  return subscribed_.count(std::string(user)) > 0;
}

}  // namespace hf::broker
