// The Lua scripts the cluster broker runs in Redis (the .lua files beside
// this header), embedded at build time by cmake/embed.cmake. Only the store
// (broker/store.hpp) uses them: it is the one place that knows their
// arguments.
#pragma once

#include <string_view>

namespace hf::broker::lua {

extern const std::string_view epoch;         // a function the stream scripts start with
extern const std::string_view publish;       // number, record and fan out one publish
extern const std::string_view read;          // a user's position and kept envelopes
extern const std::string_view renew;         // a new epoch after an outage
extern const std::string_view claim;         // NODE_ID for this process
extern const std::string_view release;       // NODE_ID given back
extern const std::string_view webhook_keep;  // a webhook event into the outbox (section 14)

}  // namespace hf::broker::lua
