// The cluster broker: publishes reach a user's sockets on every node through
// Redis pub/sub, and every node's acks come back to the node that took the
// publish, so the answer is the same whichever node a backend calls.
//
// A publish is numbered, recorded and PUBLISHed on the user's channel by
// one script (broker/store.hpp, broker/lua/publish.lua); Redis's reply (the
// number of subscribers) says how many node answers to expect. Each node
// delivers to its local sockets through the hub, waits for their acks
// (bounded by the same deadline, minus a margin), and answers once on the
// origin's reply channel (broker/node_delivery.hpp, reply_channels.hpp),
// with its count and results. The origin answers its caller when every
// expected node has answered, or at the deadline with what arrived
// (broker/origin_waits.hpp).
//
// States: down (no Redis), syncing (connected, resubscribing every present
// user), up (every subscription confirmed: a publish through any node finds
// every socket here). Only up is ready. While not up, publishes are delivered
// to this node's sockets only and answered marked local-only; sockets that
// open while syncing wait for their own subscription (broker/channel_sync.hpp).
// The connection is retried with backoff and jitter (broker/backoff.hpp), by
// the backend: one Redis (redis_single.hpp) or a Redis Cluster
// (redis_cluster.hpp), both over broker/resp_link.hpp. The other roles have
// their own units: epoch renewals after an outage (epoch_renewals.hpp) and
// the NODE_ID claim (node_claim.hpp).
//
// Exactly once: every publish's `done` runs once. A PUBLISH that was handed
// to Redis is never delivered again locally (it may have reached the nodes,
// this one included, before the connection died): it completes at its
// deadline with what arrived, marked unknown. A node that dies mid-publish:
// the origin answers at the deadline with what arrived, marked partial.
//
// Threading: all Redis I/O and bookkeeping runs on the broker's own thread;
// the public functions may be called from any thread and only post to it.
// `done` callbacks run on the broker thread, or on the owning shard's thread
// when the publish is delivered locally.
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <string>

#include "ack/result_list.hpp"
#include "broker/broker.hpp"
#include "config/redis_url.hpp"
#include "hub/hub.hpp"
#include "hub/stream_source.hpp"

namespace hf::broker {

struct redis_options {
  config::redis_endpoint where;  // one Redis (REDIS_URL)
  // Or the seed nodes of a Redis Cluster (REDIS_CLUSTER_NODES): when not
  // empty, `where` is not used and channels are sharded.
  std::vector<config::redis_endpoint> cluster_nodes;
  std::string node_id;         // unique per node; random when empty
  bool required = false;       // true: start() throws when Redis cannot be reached
  ack::result_limits results;  // bound the merged results of every publish taken here
  // Users' streams in Redis (docs/protocol.md section 7): envelopes kept per user
  // (0: none, offsets still given) and how long a stream lives after its
  // last publish.
  std::size_t history_size = 100;
  std::chrono::milliseconds history_ttl{120'000};
  // A user's kept envelopes in Redis are also bounded by bytes, and so is
  // what one recover reads: a replay never sends more than a socket may
  // queue (MAX_QUEUED_BYTES), so more is never useful. The server passes
  // min(HISTORY_MAX_BYTES, MAX_QUEUED_BYTES) and MAX_QUEUED_BYTES.
  std::size_t history_max_bytes = 4 << 20;
  std::size_t read_max_bytes = 4 << 20;
  std::chrono::milliseconds idempotency_ttl{600'000};  // section 15
};

// Also the stream source of every shard: a user's epoch, offsets and kept
// envelopes live in Redis, so that every node numbers an envelope alike and
// any node can replay it. Each publish is numbered, recorded and fanned out
// by one script (one round trip). Envelopes a node delivers alone while
// Redis is unreachable cannot be vouched for: the node renews those users'
// epochs in Redis before it is ready again, so no position across the outage
// is ever answered recovered:true.
class redis_broker final : public broker, public presence, public hub::stream_source {
 public:
  redis_broker(const hub::hub& h, redis_options opt);
  ~redis_broker() override;

  // Starts the broker thread and connects. With opt.required, waits for the
  // first connection (up to 5 s) and throws std::runtime_error if it fails.
  void start();
  // Stops the thread; publishes still waiting are answered with what they
  // have. Call once, after the workers have stopped publishing.
  void stop();
  const std::string& node_id() const noexcept;
  const std::string& incarnation() const noexcept;

  void publish(std::shared_ptr<const protocol::envelope> env, hub::deadline until,
               hub::delivery_callback done) override;
  void drain() override;
  webhook_outbox* outbox() override;
  hub::deadline answer_by(hub::deadline until) const override;
  broker_status status() const override;

  bool socket_opening(const std::string& user, std::function<void()> ready) override;
  void socket_closed(const std::string& user) override;
  void device_opened(const std::string& user, const std::string& device,
                     std::int64_t since_ms) override;
  void roster(const std::string& user, roster_callback done) override;
  void claim_key(std::string key, std::string fingerprint, std::chrono::milliseconds hold,
                 std::function<void(key_claim)> done) override;
  void keep_answer(std::string key, protocol::idempotency_record answered) override;

  void read_stream(const std::string& user, std::optional<hub::stream_position> after,
                   std::function<void(hub::stream_view)> done) override;

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace hf::broker
