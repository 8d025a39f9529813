#include "auth/token_cache.hpp"

namespace hf::auth {

result<principal> token_cache::verify(std::string_view token, std::int64_t now) {
  std::uint64_t generation = verifier_.generation();
  if (auto it = entries_.find(std::string(token)); it != entries_.end()) {
    if (it->second.generation == generation) {
      if (it->second.who.expires_at > now) {
        ++hits_;
        return it->second.who;
      }
      entries_.erase(it);
      return errc::token_expired;
    }
    entries_.erase(it);  // verified under keys that may be gone: again
  }
  auto r = verifier_.verify(token, now);
  if (r) {
    if (entries_.size() >= capacity_) entries_.clear();
    entries_.emplace(std::string(token), entry{*r, generation});
  }
  return r;
}

}  // namespace hf::auth
