#include "broker/epoch_renewals.hpp"

#include <utility>

namespace hf::broker {

void epoch_renewals::taint(const std::string& user) {
  if (tainted_.size() < max_tainted)
    tainted_.insert(user);
  else
    overflow_ = true;
}

void epoch_renewals::renew_all() {
  auto users = std::move(tainted_);
  tainted_.clear();
  for (const auto& user : users) renew(user);
}

void epoch_renewals::renew_if_tainted(const std::string& user) {
  if (auto t = tainted_.find(user); t != tainted_.end()) {
    tainted_.erase(t);
    renew(user);
  }
}

void epoch_renewals::redis_lost() {
  renewing_ = 0;
  ++outages_;
}

void epoch_renewals::renew(const std::string& user) {
  ++renewing_;
  bool sent = send_(user, [this, user, outage = outages_](bool ok) {
    if (outage != outages_) return taint(user);  // counted off when Redis was lost
    --renewing_;
    if (!ok) taint(user);  // again later
    settled_();
  });
  if (!sent) --renewing_, taint(user);
}

}  // namespace hf::broker
