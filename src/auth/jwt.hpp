// JSON Web Token verification (RFC 7519 over RFC 7515 compact JWS), with the
// acceptance rules of docs/protocol.md sections 1, 9 and 10: HS256 with JWT_SECRET
// (end users) or PUBLISH_SECRET (publishers), and RS256 / ES256 against
// public keys (a PEM file, JWKS). No I/O, no clock of its own (the caller
// passes `now`). verify() may be called from any thread; set_keys() too (the
// key set is swapped whole, under a lock taken only when a token has to be
// verified for real, not for cached ones).
#pragma once

#include <array>
#include <atomic>
#include <boost/json/object.hpp>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "auth/public_keys.hpp"
#include "core/errors.hpp"

namespace hf::auth {

// Who a valid token speaks for.
struct principal {
  // The trimmed user claim (USER_CLAIM, default `userId`); empty for a
  // publisher token, which needs none.
  std::string user_id;
  // `exp` in seconds since the epoch when present, else INT64_MAX: how long
  // a cached verification and a socket's identity may last.
  std::int64_t expires_at = INT64_MAX;
  bool publisher = false;  // signed with PUBLISH_SECRET
  // The `device` claim (docs/protocol.md section 11) when it is a string of
  // 1-64 printable ASCII characters; null when absent. Any other value
  // makes the token invalid (errc::token_bad_device). A pointer: the token
  // cache keeps thousands of principals, most without a device.
  std::shared_ptr<const std::string> device;
};

struct verifier_options {
  std::string secret;          // JWT_SECRET: HS256 end-user tokens; empty: none
  std::string publish_secret;  // PUBLISH_SECRET: HS256 publisher tokens; empty: none
  std::string user_claim = "userId";
  // JWT_ISSUER / JWT_AUDIENCE (RFC 8725 sections 3.9-3.10): when not empty,
  // every end-user token (HS256 with `secret`, RS256/ES256) must carry `iss`
  // equal to `issuer` and an `aud` (a string, or an array of strings) equal
  // to or containing `audience`. Publisher tokens are exempt: the server's
  // own secret, not an identity provider's token.
  std::string issuer;
  std::string audience;
};

class jwt_verifier {
 public:
  explicit jwt_verifier(std::string secret);  // HS256 end-user tokens only
  explicit jwt_verifier(verifier_options options);

  // Verifies `token` at time `now` (whole seconds since the epoch). Returns
  // the principal, or one of the errc::token_* errors.
  result<principal> verify(std::string_view token, std::int64_t now) const;

  // Replaces the public keys (a JWKS refresh). Bumps generation(), so cached
  // verifications made with the old keys are redone. Any thread.
  void set_keys(std::vector<public_key> keys);
  std::uint64_t generation() const noexcept { return generation_.load(std::memory_order_acquire); }
  std::size_t key_count() const;

  // Called on the verifying thread when an RS256/ES256 token names a `kid`
  // that no key of its kind has, also when there is no key of that kind at
  // all (so a JWKS source can refetch, at its own bounded rate). Set before
  // any verify; without it, an RS256/ES256 token with no key of its kind is
  // an unsupported alg.
  void on_unknown_kid(std::function<void()> f) { unknown_kid_ = std::move(f); }

  const verifier_options& options() const noexcept { return opt_; }

 private:
  // The issuer and audience rules of verifier_options (true when unset).
  bool issued_for_us(const boost::json::object& claims) const;

  verifier_options opt_;
  mutable std::mutex keys_mutex_;  // guards keys_ (the pointer, not the keys)
  std::shared_ptr<const std::vector<public_key>> keys_;
  std::atomic<std::uint64_t> generation_{0};
  std::function<void()> unknown_kid_;
};

// Signs `claims` as a compact HS256 JWS with header {"alg":"HS256","typ":"JWT"}.
// For the `token` CLI and for tests; the server itself never mints.
std::string mint_hs256(std::string_view secret, const boost::json::object& claims);

// HMAC-SHA256 of `data` keyed by `key`.
// Empty if OpenSSL failed (out of memory, a provider configuration without
// the algorithm).
std::string hmac_sha256(std::string_view key, std::string_view data);
// The same as 32 bytes, without allocating; nullopt if OpenSSL failed (a
// signature is then never taken as valid).
std::optional<std::array<unsigned char, 32>> hmac_sha256_bytes(std::string_view key,
                                                               std::string_view data);

}  // namespace hf::auth
