// Where a cluster node finds Redis: REDIS_URL parsed (validated with the
// other settings, used by the cluster broker). Pure.
#pragma once

#include <string>

namespace hf::config {

struct redis_endpoint {
  std::string host = "127.0.0.1";
  int port = 6379;
};

// Parses redis://host[:port][/db]; false for anything else. (A user or
// password before '@' is ignored: AUTH is not supported yet.)
bool parse_redis_url(const std::string& url, redis_endpoint& out);

}  // namespace hf::config
