#include "auth/token_cache.hpp"

#include "core/digest.hpp"

namespace hf::auth {

std::optional<token_cache::digest> token_cache::digest_of(std::string_view token) noexcept {
  return core::sha256(token);
}

void token_cache::remember(std::string_view token, const entry& e) {
  if (token.size() > recent_max_bytes) return;
  recent& slot = recent_[next_recent_];
  next_recent_ = (next_recent_ + 1) % recent_slots;
  slot.token.assign(token);
  slot.value = e;
}

void token_cache::forget_recent(std::string_view token) noexcept {
  for (recent& r : recent_)
    if (r.token == token) r.token.clear();
}

result<principal> token_cache::verify(std::string_view token, std::int64_t now) {
  std::uint64_t generation = verifier_.generation();
  if (!token.empty())
    for (const recent& r : recent_)
      if (r.token == token && r.value.generation == generation && r.value.who.expires_at > now) {
        ++hits_;
        return r.value.who;
      }
  std::optional<digest> digested = digest_of(token);
  if (!digested) return verifier_.verify(token, now);  // (OpenSSL failed: nothing cached)
  const digest& key = *digested;
  if (auto it = entries_.find(key); it != entries_.end()) {
    if (it->second.generation == generation) {
      if (it->second.who.expires_at > now) {
        ++hits_;
        remember(token, it->second);
        return it->second.who;
      }
      entries_.erase(it);
      forget_recent(token);
      return errc::token_expired;
    }
    entries_.erase(it);  // verified under keys that may be gone: again
    forget_recent(token);
  }
  auto r = verifier_.verify(token, now);
  if (r) {
    if (entries_.size() >= capacity_) {
      entries_.clear();
      for (recent& slot : recent_) slot.token.clear();
    }
    entry e{*r, generation};
    entries_.emplace(key, e);
    remember(token, e);
  }
  return r;
}

}  // namespace hf::auth
