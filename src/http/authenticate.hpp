// The one token check of every request that needs one (docs/protocol.md sections
// 1 and 10): WebSocket upgrades and POST /publish.
#pragma once

#include <string_view>

#include "auth/jwt.hpp"
#include "http/context.hpp"
#include "http/request.hpp"

namespace hf::http {

enum class caller {
  end_user,   // an upgrade: a token of the user the socket is for
  publisher,  // POST /publish: with PUBLISH_SECRET set, a publisher token only
};

// The token from the Authorization header (or, when that is absent or blank,
// from ?token=), verified through c's token cache at the current time, and
// checked to be of the kind `who` needs. errc::publish_forbidden (403) for a
// valid end-user token on a publish when PUBLISH_SECRET is set;
// errc::token_publisher (401) for a publisher token on an upgrade. A refusal
// is counted by reason and logged within the log budget, naming `what`
// ("publish", "upgrade"). Call on c's thread.
result<auth::principal> authenticate(context& c, const request& req, caller who,
                                     std::string_view what);

}  // namespace hf::http
