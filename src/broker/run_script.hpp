// Runs a store call (broker/store.hpp) through a Redis backend: by EVALSHA,
// and once more by EVAL, with the script's text, where Redis answers
// NOSCRIPT (restarted, a promoted replica, SCRIPT FLUSH). Broker thread.
#pragma once

#include "broker/redis_backend.hpp"
#include "broker/store.hpp"

namespace hf::broker {

// Returns false (and `done` is not called) when Redis cannot take it now;
// else `done` gets the reply once (nullptr when the connection was lost).
bool run_script(redis_backend& redis, store::call c, redis_backend::reply_fn done);

}  // namespace hf::broker
