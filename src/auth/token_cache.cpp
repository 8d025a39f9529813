#include "auth/token_cache.hpp"

#include <openssl/sha.h>

namespace hf::auth {

token_cache::digest token_cache::digest_of(std::string_view token) noexcept {
  digest d;
  SHA256(reinterpret_cast<const unsigned char*>(token.data()), token.size(), d.data());
  return d;
}

result<principal> token_cache::verify(std::string_view token, std::int64_t now) {
  std::uint64_t generation = verifier_.generation();
  digest key = digest_of(token);
  if (auto it = entries_.find(key); it != entries_.end()) {
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
    entries_.emplace(key, entry{*r, generation});
  }
  return r;
}

}  // namespace hf::auth
