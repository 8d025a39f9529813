// The cluster broker: publishes reach a user's sockets on every node through
// Redis pub/sub, and every node's acks come back to the node that took the
// publish, so the answer is the same whichever node a backend calls.
//
// Channels: each node SUBSCRIBEs to "hf:u:<userId>" while it holds at least
// one socket of that user, and to its own reply channel "hf:r:<nodeId>".
// A publish is PUBLISHed on the user's channel; Redis's reply (the number of
// subscribers) says how many node answers to expect. Each node delivers to
// its local sockets through the hub, waits for their acks (bounded by the
// same deadline, minus a margin), and answers once on the origin's reply
// channel with its match count and results (the origin answers itself
// directly, without Redis). The origin answers its caller when every
// expected node has answered, or at the deadline with what arrived.
//
// Guarantees: at-most-once delivery; results in arrival order per node,
// nodes in the order their answers arrive. Redis down: publishes are
// delivered to this node's sockets only (logged), and the broker reconnects
// with backoff and jitter, resubscribing every present user. A node that dies
// mid-publish: the origin answers at the deadline with what arrived.
//
// Threading: all Redis I/O and bookkeeping runs on the broker's own thread;
// the public functions may be called from any thread and only post to it.
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <thread>

#include "broker/broker.hpp"
#include "hub/hub.hpp"

namespace hf::broker {

struct redis_options {
  std::string host = "127.0.0.1";
  int port = 6379;
  std::string node_id;    // unique per node; random when empty
  bool required = false;  // true: start() throws when Redis cannot be reached
};

// Parses redis://host[:port][/db]; false for anything else.
bool parse_redis_url(const std::string& url, redis_options& out);

class redis_broker final : public broker {
 public:
  redis_broker(const hub::hub& h, redis_options opt);
  ~redis_broker() override;

  // Starts the broker thread and connects. With opt.required, waits for the
  // first connection (up to 5 s) and throws std::runtime_error if it fails.
  void start();
  void stop();
  bool connected() const noexcept { return connected_; }
  const std::string& node_id() const noexcept;

  void publish(std::shared_ptr<const protocol::envelope> env, hub::deadline until,
               hub::delivery_callback done) override;
  void drain() override;
  int cluster_state() const override { return connected_ ? 1 : 0; }
  std::pair<double, std::uint64_t> cluster_rtt() const override {
    return {double(rtt_ns_.load(std::memory_order_relaxed)) / 1e9,
            rtt_count_.load(std::memory_order_relaxed)};
  }
  bool socket_opening(const std::string& user, std::function<void()> ready) override;
  void socket_closed(const std::string& user) override;

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
  std::atomic<bool> connected_{false};
  // Written by the broker thread only (relaxed load + store), read by scrapes.
  std::atomic<std::uint64_t> rtt_ns_{0}, rtt_count_{0};

 public:
  void record_rtt(std::chrono::nanoseconds d) noexcept {
    rtt_ns_.store(rtt_ns_.load(std::memory_order_relaxed) + std::uint64_t(d.count()),
                  std::memory_order_relaxed);
    rtt_count_.store(rtt_count_.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
  }
};

}  // namespace hf::broker
