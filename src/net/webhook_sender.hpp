// WEBHOOK_URL (docs/protocol.md section 14): the events of publishes with
// `"webhook": true`, POSTed to the backend with their signature, retried
// with growing delays until delivered or protocol::webhook_give_up_after.
//
// Runs on its own thread, so a slow or dead receiver never delays a publish:
// the workers hand an event over (a post) and go on. Events wait in a
// bounded queue (max_events, max_bytes); one that does not fit is dropped,
// counted (hopeflow_webhook_dropped_total) and logged. Up to `connections`
// POSTs are in flight at once, each on a kept-alive connection; each POST
// has 5 s in all (connect, TLS, write, answer). https checks the
// certificate against the system's roots and the URL's host, as the JWKS
// fetcher does.
//
// In cluster mode every event is also kept in Redis (broker/webhook_outbox)
// until it was delivered, and events a dead node left behind are adopted.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "broker/webhook_outbox.hpp"
#include "metrics/metrics.hpp"
#include "protocol/receipts.hpp"
#include "protocol/webhook.hpp"

namespace hf::net {

struct webhook_options {
  std::string url;     // WEBHOOK_URL
  std::string secret;  // WEBHOOK_SECRET
  // The queue: a receiver down for the whole retry window at 150 events/s
  // fills it; an event is typically a few hundred bytes, an `unacked` one
  // carries its envelope (at most MAX_BODY_BYTES).
  std::size_t max_events = 100'000;
  std::size_t max_bytes = 64 << 20;
  // POSTs in flight at once (each on its own kept-alive connection).
  unsigned connections = 8;
  // Cluster mode: how often this node tells the outbox that its events are
  // still its own, and looks for events other nodes left behind (those
  // not held for orphan_after).
  std::chrono::milliseconds hold_every{10'000};
  std::chrono::milliseconds adopt_every{5'000};
};

// The longest a publish's answer waits for its `unacked` event to be kept
// in Redis (one round trip, normally well under a millisecond): an
// unresponsive Redis delays answers by this much at most.
inline constexpr std::chrono::milliseconds webhook_keep_wait{100};

class webhook_sender {
 public:
  // `outbox`: cluster mode's shared copy (may be null); it must outlive
  // the sender. Throws std::runtime_error for a URL that cannot be used.
  webhook_sender(webhook_options opt, broker::webhook_outbox* outbox);
  ~webhook_sender();
  webhook_sender(const webhook_sender&) = delete;
  webhook_sender& operator=(const webhook_sender&) = delete;

  void start();
  // Waits until every queued event went (or failed once and waits for its
  // retry), at most `longest`. Call before stop().
  void flush(std::chrono::milliseconds longest);
  // Stops the thread; what is queued is dropped (kept in the outbox, in
  // cluster mode, for another node).
  void stop();

  // A publish with `"webhook": true` was answered and no target acked:
  // `envelope_json` as a socket receives it, the answer's count and
  // receipts. Any thread. `kept`, when given, runs once on the sender's
  // thread when the event is in the outbox (or could not be put there, or
  // keep_wait passed): the publish's answer waits for it in cluster mode.
  void unacked(std::string envelope_json, std::size_t client_count,
               std::vector<protocol::receipt> devices, std::function<void()> kept = {});
  // A target acked after the answer (hub/shard_late_acks.cpp). Any thread.
  void late_ack(protocol::late_ack a);

  // For /metrics. Any thread.
  metrics::webhook_sample sample() const;

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace hf::net
