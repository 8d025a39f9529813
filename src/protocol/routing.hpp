// The routing table (docs/protocol.md section 2). Pure.
#pragma once

#include <optional>
#include <string_view>

namespace hf::protocol {

enum class route {
  websocket,  // any path, Upgrade: websocket (any case): checked first
  preflight,  // OPTIONS /publish -> 204 with CORS headers
  publish,    // POST /publish
  healthz,    // GET or HEAD /healthz: the process is alive (docs/protocol.md section A)
  readyz,     // GET or HEAD /readyz: accepting work (not draining; Redis up in a cluster)
  metrics,    // GET or HEAD /metrics: Prometheus text format
  console,    // GET /console, /console/{app,sdk}.js: the developer console (404 unless CONSOLE=1)
  not_found,  // everything else -> 404 "Not Found"
};

// `upgrade` is the Upgrade header's value, nullopt when absent. `target` is the
// request target as sent (origin form "/p?q" or absolute form "http://h/p?q").
route classify(std::string_view method, std::string_view target,
               std::optional<std::string_view> upgrade) noexcept;

// The path of a request target, without query or fragment; "" when it has none.
std::string_view target_path(std::string_view target) noexcept;

}  // namespace hf::protocol
