// Expected failures of the pure modules, as error codes. They are mapped to
// protocol answers (HTTP status + body, close codes) in exactly one place per
// transport: net/http_session.cpp (responses) and hub (ignored messages).
#pragma once

#include <boost/system/error_code.hpp>
#include <boost/system/result.hpp>

namespace hf {

enum class errc {
  ok = 0,
  // auth: every value below maps to 401 Unauthorized
  token_missing = 1,
  token_malformed,        // not three base64url parts, or parts that are not JSON objects
  token_unsupported_alg,  // an alg no configured key fits (none, HS384, RS256 without keys, ...)
  token_bad_typ,          // typ missing or not JWT
  token_crit,             // a crit header: no extension is understood
  token_bad_signature,
  token_expired,        // exp <= now
  token_not_yet_valid,  // nbf > now
  token_bad_claim,      // exp/nbf/iat not numeric, or iss/aud not JWT_ISSUER/JWT_AUDIENCE
  token_no_user,        // the user claim (USER_CLAIM) missing, not a string, or blank
  token_unknown_kid,    // RS256/ES256 with a kid that no key has
  token_publisher,      // a publisher token (PUBLISH_SECRET) where an end user's is needed
  token_bad_device,     // a `device` claim that is not 1-64 printable ASCII (section 11)
  // publish body checks, in the contract's order
  unsupported_media_type = 100,  // 415
  invalid_json_body,             // 400 {"error":"Invalid JSON body"}
  user_id_required,              // 400 {"error":"userId is required"}
  invalid_user_ids,              // 400: userIds not 1-1000 non-blank strings, or next to userId
  invalid_ack_timeout,           // 400: ackTimeoutMs present but not a number >= 0
  publish_forbidden,             // 403: a valid token that is not a publisher's (PUBLISH_SECRET)
  invalid_receipts,              // 400: receipts not a boolean (section 12)
  invalid_until,                 // 400: until not "all", "first" or a positive integer
  invalid_cancel,                // 400: cancel not a boolean
  invalid_webhook,               // 400: webhook not a boolean (section 14)
  webhook_not_configured,        // 400: webhook true without WEBHOOK_URL
};

const boost::system::error_category& hopeflow_category() noexcept;

inline boost::system::error_code make_error_code(errc e) noexcept {
  return {static_cast<int>(e), hopeflow_category()};
}

template <class T>
using result = boost::system::result<T>;

}  // namespace hf

namespace boost::system {
template <>
struct is_error_code_enum<hf::errc> : std::true_type {};
}  // namespace boost::system
