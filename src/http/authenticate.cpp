#include "http/authenticate.hpp"

#include <chrono>

#include "auth/token_cache.hpp"
#include "auth/token_source.hpp"
#include "core/log.hpp"

namespace hf::http {

result<auth::principal> authenticate(context& c, const request& req, caller who,
                                     std::string_view what) {
  std::int64_t now = std::chrono::duration_cast<std::chrono::seconds>(
                         std::chrono::system_clock::now().time_since_epoch())
                         .count();
  std::string decoded;  // a token from the query, percent-decoded
  std::string_view token = auth::extract_token(req.authorization, req.target, decoded);
  // An end user's token is seen about once (its upgrade): not cached.
  result<auth::principal> r =
      who == caller::end_user ? c.tokens.verify_once(token, now) : c.tokens.verify(token, now);
  if (r && who == caller::end_user && r->publisher) r = errc::token_publisher;
  if (r && who == caller::publisher && !r->publisher && c.cfg.publisher_tokens_only) {
    ++c.metrics.publishes_forbidden;
    core::log_refusal(spdlog::level::info, "{} refused: 403 (not a publisher token)", what);
    return errc::publish_forbidden;
  }
  if (!r) {
    c.metrics.auth_failed(r.error());
    core::log_refusal(spdlog::level::info, "{} rejected: 401 ({})", what, r.error().message());
  }
  return r;
}

}  // namespace hf::http
