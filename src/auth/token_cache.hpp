// A cache of verified tokens, so that a backend publishing many times with one
// token pays for HMAC-SHA256 and two JSON parses once. Only successful
// verifications are cached, keyed by the whole token text (so nothing can
// match that was not verified byte for byte), and an entry is used only while
// the token's `exp` is in the future. Not thread-safe: one per worker thread.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>

#include "auth/jwt.hpp"

namespace hf::auth {

class token_cache {
 public:
  // At most `capacity` tokens are remembered; when full the cache is emptied
  // (a cheap bound: a flood of distinct tokens costs only re-verification).
  token_cache(const jwt_verifier& verifier, std::size_t capacity = 4096)
      : verifier_(verifier), capacity_(capacity) {}

  // Same answer as jwt_verifier::verify at `now`.
  result<principal> verify(std::string_view token, std::int64_t now);

  std::size_t size() const noexcept { return entries_.size(); }
  std::uint64_t hits() const noexcept { return hits_; }

 private:
  const jwt_verifier& verifier_;
  std::size_t capacity_;
  std::unordered_map<std::string, principal> entries_;
  std::uint64_t hits_ = 0;
};

}  // namespace hf::auth
