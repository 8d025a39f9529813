// A cache of verified tokens, so that a backend publishing many times with one
// token pays for the signature check and two JSON parses once. Only
// successful verifications are cached, keyed by the SHA-256 digest of the
// whole token text (so nothing can match that was not verified byte for
// byte, short of a SHA-256 collision; 32 bytes per entry instead of a copy of
// a token of a few hundred, which at 4,096 entries per worker is most of the
// cache's memory), each with the key
// set's generation it was verified under: after a key rotation (a JWKS
// refresh) every entry is verified again, so a token cannot outlive its key.
// An entry is used only while the token's `exp` is in the future. Not
// thread-safe: one per worker thread.
//
// In front of the digest map, the last few tokens verified or found are kept
// verbatim: a backend publishing with one token (the usual case) is then
// answered by a byte comparison, without computing a SHA-256 per publish.
#pragma once

#include <array>
#include <cstdint>
#include <cstring>
#include <optional>
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
  // The same answer without the cache, for a token seen about once (an
  // end user's, at an upgrade or a refresh): checking it costs less than
  // its digest and entry would (both are paid on every miss), it takes no
  // entry or recent slot from the tokens that repeat (a backend's), and the
  // cache's memory does not grow with the connections.
  result<principal> verify_once(std::string_view token, std::int64_t now) const {
    return verifier_.verify(token, now);
  }

  std::size_t size() const noexcept { return entries_.size(); }
  std::uint64_t hits() const noexcept { return hits_; }

 private:
  struct entry {
    principal who;
    std::uint64_t generation;
  };
  using digest = std::array<unsigned char, 32>;
  struct digest_hash {
    std::size_t operator()(const digest& d) const noexcept {
      std::size_t h;
      std::memcpy(&h, d.data(), sizeof h);  // a SHA-256 digest's bytes are already uniform
      return h;
    }
  };
  // nullopt if OpenSSL failed: the token is then checked and not cached.
  static std::optional<digest> digest_of(std::string_view token) noexcept;
  // The recent tokens, compared byte for byte; each also lives in entries_
  // (a recent slot is dropped with its entry). Four: a handful of backends
  // or services publishing through one worker, at most a few KiB per worker.
  static constexpr std::size_t recent_slots = 4;
  // Longer tokens (RS256 with many claims) go through the digest only: a
  // slot holds at most this much.
  static constexpr std::size_t recent_max_bytes = 1024;
  struct recent {
    std::string token;  // empty: unused
    entry value;
  };
  void remember(std::string_view token, const entry& e);
  void forget_recent(std::string_view token) noexcept;
  const jwt_verifier& verifier_;
  std::size_t capacity_;
  std::unordered_map<digest, entry, digest_hash> entries_;
  std::array<recent, recent_slots> recent_{};
  std::size_t next_recent_ = 0;
  std::uint64_t hits_ = 0;
};

}  // namespace hf::auth
