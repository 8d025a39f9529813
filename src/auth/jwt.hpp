// HS256 JSON Web Token verification (RFC 7519 over RFC 7515 compact JWS), with
// exactly the acceptance rules of PROTOCOL.md section 1. Pure: no I/O, no
// clock of its own (the caller passes `now`), safe to call from any thread
// (a verifier is immutable after construction).
#pragma once

#include <boost/json/object.hpp>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/errors.hpp"

namespace hf::auth {

// Who a valid token speaks for. `user_id` is the trimmed `userId` claim.
struct principal {
  std::string user_id;
  // Expiry (`exp`, seconds since the epoch) when present, else INT64_MAX; lets
  // a caller cache a verified token for no longer than it is valid.
  std::int64_t expires_at = INT64_MAX;
};

class jwt_verifier {
 public:
  // `secret` is used as raw bytes (the UTF-8 of JWT_SECRET), as the original did.
  explicit jwt_verifier(std::string secret);

  // Verifies `token` at time `now` (whole seconds since the epoch).
  // Returns the principal, or one of the errc::token_* errors.
  result<principal> verify(std::string_view token, std::int64_t now) const;

 private:
  std::string secret_;
};

// Signs `claims` as a compact HS256 JWS with header {"alg":"HS256","typ":"JWT"}.
// For the `token` CLI and for tests; the server itself never mints.
std::string mint_hs256(std::string_view secret, const boost::json::object& claims);

// HMAC-SHA256 of `data` keyed by `key` (32 bytes).
std::string hmac_sha256(std::string_view key, std::string_view data);

}  // namespace hf::auth
