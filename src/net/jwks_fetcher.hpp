// JWKS_URL (docs/protocol.md section 9): the identity provider's keys, fetched at
// start, then every JWKS_REFRESH_MS, and sooner when a token names a key we
// do not have (at most once every 10 s). A fetch that fails keeps the keys
// there are and is retried sooner than JWKS_REFRESH_MS (jwks_retry_delay);
// every fetch is bounded (5 s in all, 1 MiB of body, no redirects). Runs on
// its own thread; the public functions may be called from any thread.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "auth/public_keys.hpp"
#include "metrics/metrics.hpp"
#include "net/http_target.hpp"

namespace hf::net {

// Where a JWKS_URL points (net/http_target.hpp). Throws std::runtime_error
// for a URL that cannot be used.
using jwks_target = http_target;
jwks_target parse_jwks_url(const std::string& url);

// How long after the `failures`-th failed fetch in a row the next one
// starts: 1 s, doubling, at most min(60 s, refresh).
std::chrono::milliseconds jwks_retry_delay(unsigned failures, std::chrono::milliseconds refresh);

class jwks_fetcher {
 public:
  // `install` receives every usable key set fetched (on the fetcher's thread).
  jwks_fetcher(std::string url, std::chrono::milliseconds refresh,
               std::function<void(std::vector<auth::public_key>)> install);
  ~jwks_fetcher();
  jwks_fetcher(const jwks_fetcher&) = delete;
  jwks_fetcher& operator=(const jwks_fetcher&) = delete;

  // Starts the thread and the first fetch; waits for it at most its own
  // timeout. True when it installed keys. Throws std::runtime_error when the
  // URL cannot be used at all (start-up only).
  bool start();
  void stop();

  // A token named an unknown kid: fetch again soon (rate-limited).
  void refetch_soon();

  // Fetches so far, by outcome (for /metrics).
  metrics::per<metrics::jwks_outcome> counts() const;

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace hf::net
