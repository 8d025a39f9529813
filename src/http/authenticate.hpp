// The one token check of every request that needs one (PROTOCOL.md section
// 1): WebSocket upgrades and POST /publish.
#pragma once

#include <string_view>

#include "auth/jwt.hpp"
#include "http/request.hpp"

namespace hf::net {
struct worker;
}

namespace hf::http {

// The token from the Authorization header (or, when that is absent or blank,
// from ?token=), verified through w's token cache at the current time. A
// refusal is counted by reason and logged within the log budget, naming
// `what` ("publish", "upgrade"). Call on w's thread.
result<auth::principal> authenticate(net::worker& w, const request& req, std::string_view what);

}  // namespace hf::http
