// Section 15 of docs/protocol.md: Idempotency-Key. A key is claimed before
// its publish is delivered (the record "in flight" with the body's
// fingerprint) and keeps the publish's answer afterwards, for
// IDEMPOTENCY_TTL_MS. The same key again gets the answer back (the same
// body), 409 (still in flight) or 422 (another body).
//
// In cluster mode the records live in Redis, so every node sees them: a
// claim is one `SET hf:idem:<key> <record> NX GET PX <hold>` (Redis 7: sets
// it unless present, and returns what was there), keeping the answer one
// `SET ... PX <ttl>`. Without Redis (one node, or Redis unreachable) they
// live in this process, bounded: at most max_keys keys and max_bytes of
// answers, the oldest answered ones going first (a retry of an evicted key
// is delivered again). An in-flight record expires `hold` after its claim
// (the publish's latest answer time, and a margin), so a node that dies
// mid-publish does not block its key for the whole TTL.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <unordered_map>

#include "protocol/idempotency.hpp"

namespace hf::broker {

struct key_claim {
  enum class outcome : std::uint8_t {
    claimed,     // first use: deliver, then keep the answer
    in_flight,   // 409
    other_body,  // 422
    answered,    // replay `record`
  };
  outcome what = outcome::claimed;
  protocol::idempotency_record record;
};

// The in-process store: any thread (a mutex; only requests that carry the
// header come here).
class idempotency_memory {
 public:
  using clock = std::chrono::steady_clock;
  static constexpr std::size_t max_keys = 100'000;
  static constexpr std::size_t max_bytes = 64 << 20;

  explicit idempotency_memory(std::chrono::milliseconds ttl) : ttl_(ttl) {}
  key_claim claim(const std::string& key, const std::string& fingerprint,
                  std::chrono::milliseconds hold, clock::time_point now);
  void keep(const std::string& key, protocol::idempotency_record answered, clock::time_point now);
  std::size_t size() const;

 private:
  struct entry {
    protocol::idempotency_record record;
    clock::time_point expires;
    std::multimap<clock::time_point, std::string>::iterator at;
  };
  void expire(clock::time_point now);
  void erase(std::unordered_map<std::string, entry>::iterator it);

  std::chrono::milliseconds ttl_;
  mutable std::mutex mutex_;
  std::unordered_map<std::string, entry> entries_;
  std::multimap<clock::time_point, std::string> by_expiry_;
  std::size_t bytes_ = 0;
};

// A claim's outcome from what Redis (or the store) had for the key.
key_claim claim_outcome(const std::optional<protocol::idempotency_record>& found,
                        const std::string& fingerprint);

}  // namespace hf::broker
