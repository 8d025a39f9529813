#include "http/authenticate.hpp"

#include <chrono>

#include "auth/token_source.hpp"
#include "core/log.hpp"
#include "net/worker.hpp"

namespace hf::http {

result<auth::principal> authenticate(net::worker& w, const request& req, std::string_view what) {
  std::int64_t now = std::chrono::duration_cast<std::chrono::seconds>(
                         std::chrono::system_clock::now().time_since_epoch())
                         .count();
  auto who = w.tokens.verify(auth::extract_token(req.authorization, req.target), now);
  if (!who) {
    w.metrics.auth_failed(who.error());
    core::log_refusal(spdlog::level::info, "{} rejected: 401 ({})", what, who.error().message());
  }
  return who;
}

}  // namespace hf::http
