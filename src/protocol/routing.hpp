// The routing table (docs/protocol.md section 2). Pure.
#pragma once

#include <optional>
#include <string>
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
  root,       // GET / without Upgrade: 302 to /console with CONSOLE=1, else 404 (the contract's)
  sdk,        // GET or HEAD /sdk/realtime.js: the SDK module, with CORS (404 unless SERVE_SDK=1)
  roster,     // GET /users/<id>/devices: who is online (docs/protocol.md section 13)
  roster_preflight,  // OPTIONS /users/<id>/devices -> 204 with CORS headers
  not_found,         // everything else -> 404 "Not Found"
};

// `upgrade` is the Upgrade header's value, nullopt when absent. `target` is the
// request target as sent (origin form "/p?q" or absolute form "http://h/p?q").
route classify(std::string_view method, std::string_view target,
               std::optional<std::string_view> upgrade) noexcept;

// The path of a request target, without query or fragment; "" when it has none.
std::string_view target_path(std::string_view target) noexcept;

// The user id of a roster path "/users/<segment>/devices": the segment
// percent-decoded ('%2F' stays part of the id, '+' stays '+'); nullopt for
// any other path (an empty segment, or one with a raw '/').
std::optional<std::string> roster_user(std::string_view target);

}  // namespace hf::protocol
