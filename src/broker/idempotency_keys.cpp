#include "broker/idempotency_keys.hpp"

namespace hf::broker {

key_claim claim_outcome(const std::optional<protocol::idempotency_record>& found,
                        const std::string& fingerprint) {
  key_claim c;
  if (!found) return c;  // claimed
  if (found->fingerprint != fingerprint)
    c.what = key_claim::outcome::other_body;
  else if (!found->answered)
    c.what = key_claim::outcome::in_flight;
  else
    c.what = key_claim::outcome::answered;
  c.record = *found;
  return c;
}

void idempotency_memory::erase(std::unordered_map<std::string, entry>::iterator it) {
  bytes_ -= it->first.size() + it->second.record.body.size();
  by_expiry_.erase(it->second.at);
  entries_.erase(it);
}

void idempotency_memory::expire(clock::time_point now) {
  while (!by_expiry_.empty() && by_expiry_.begin()->first <= now)
    erase(entries_.find(by_expiry_.begin()->second));
}

key_claim idempotency_memory::claim(const std::string& key, const std::string& fingerprint,
                                    std::chrono::milliseconds hold, clock::time_point now) {
  std::lock_guard lock(mutex_);
  expire(now);
  if (auto it = entries_.find(key); it != entries_.end())
    return claim_outcome(it->second.record, fingerprint);
  if (entries_.size() >= max_keys) {
    // Full: the oldest record goes (an answered one is the usual case).
    erase(entries_.find(by_expiry_.begin()->second));
  }
  auto at = by_expiry_.emplace(now + hold, key);
  entries_.emplace(key, entry{{fingerprint, false, 0, {}, std::nullopt}, now + hold, at});
  bytes_ += key.size();
  return {};
}

void idempotency_memory::keep(const std::string& key, protocol::idempotency_record answered,
                              clock::time_point now) {
  std::lock_guard lock(mutex_);
  if (auto it = entries_.find(key); it != entries_.end()) erase(it);
  std::size_t size = key.size() + answered.body.size();
  while (!by_expiry_.empty() && (bytes_ + size > max_bytes || entries_.size() >= max_keys))
    erase(entries_.find(by_expiry_.begin()->second));
  if (size > max_bytes) return;
  auto at = by_expiry_.emplace(now + ttl_, key);
  entries_.emplace(key, entry{std::move(answered), now + ttl_, at});
  bytes_ += size;
}

std::size_t idempotency_memory::size() const {
  std::lock_guard lock(mutex_);
  return entries_.size();
}

}  // namespace hf::broker
