// Which users this node holds sockets of, and its Redis subscriptions to
// their channels: a socket opens once publishes from every node will find
// it, that is once Redis has confirmed the subscription to its user's
// channel. Pure bookkeeping: the caller sends the SUBSCRIBE/UNSUBSCRIBE
// commands it is told to and reports Redis's confirmations. Not
// thread-safe: one owner thread (the broker's).
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

namespace hf::broker {

class subscription_table {
 public:
  using ready_fn = std::function<void()>;

  enum class action {
    ready,      // call `ready` now: the subscription is confirmed, or Redis is down (local only)
    wait,       // `ready` is kept until the subscription is confirmed
    subscribe,  // as wait, and send SUBSCRIBE for the user's channel now
  };

  // A socket of `user` is opening; `connected` says whether Redis is up.
  // Takes `ready` when the answer is wait or subscribe.
  action opening(const std::string& user, bool connected, ready_fn& ready);

  // Redis confirmed the subscription to `user`'s channel: returns the
  // sockets waiting for it (call each once).
  std::vector<ready_fn> confirmed(std::string_view user);

  // A socket of `user` closed. True when it was the last one here: send
  // UNSUBSCRIBE (if connected).
  bool closed(const std::string& user);

  // The connection to Redis is gone: no subscription holds any more, and the
  // sockets that waited for one are returned so they can open (degraded:
  // local delivery only until Redis is back).
  std::vector<ready_fn> lost();
  // The same for one user's subscription (the Redis Cluster master that
  // served its channel failed; the rest is up).
  std::vector<ready_fn> lost(std::string_view user);

  // Whether the caller reports the reply to every SUBSCRIBE it sent (one
  // Redis: true, the default), so that the reply to a SUBSCRIBE whose
  // sockets all closed is recognised as stale; or only the reply to the last
  // one per channel (a Redis Cluster backend, which counts them itself):
  // then no reply is stale.
  void every_reply_reported(bool yes) noexcept { every_reply_ = yes; }

  // Users with at least one socket here (to resubscribe after a reconnect).
  std::vector<std::string> users() const;
  std::size_t size() const noexcept { return sockets_.size(); }
  bool subscribed(std::string_view user) const;

 private:
  std::unordered_map<std::string, std::size_t> sockets_;  // user -> sockets on this node
  std::unordered_set<std::string> subscribed_;            // confirmed by Redis
  std::unordered_map<std::string, std::vector<ready_fn>> waiting_;
  // SUBSCRIBE replies still to come that must not count (see closed()).
  std::unordered_map<std::string, std::size_t> stale_;
  bool every_reply_ = true;
};

}  // namespace hf::broker
