#include "auth/token_cache.hpp"

namespace hf::auth {

result<principal> token_cache::verify(std::string_view token, std::int64_t now) {
  if (auto it = entries_.find(std::string(token)); it != entries_.end()) {
    if (it->second.expires_at > now) {
      ++hits_;
      return it->second;
    }
    entries_.erase(it);
    return errc::token_expired;
  }
  auto r = verifier_.verify(token, now);
  if (r) {
    if (entries_.size() >= capacity_) entries_.clear();
    entries_.emplace(std::string(token), *r);
  }
  return r;
}

}  // namespace hf::auth
