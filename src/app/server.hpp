// Wiring: worker threads, each with its io_context, hub shard and listener;
// the broker; start-up and orderly shutdown.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>

#include "config/config.hpp"

namespace hf::app {

class server {
 public:
  explicit server(config::config cfg);
  ~server();

  // Binds the listeners and starts the worker threads. Throws
  // std::runtime_error with a readable message when it cannot bind.
  // Call once, from the thread that will later call stop().
  void start();

  // The bound port (useful with PORT=0).
  std::uint16_t port() const;

  // Orderly shutdown (drain): stop accepting, answer in-flight publishes with
  // what they have, close sockets with 1001 in batches spread over
  // DRAIN_SPREAD_MS, wait up to `grace` (default DRAIN_TIMEOUT_MS) for peers
  // to finish, join threads. Call from the thread that called start().
  void stop();
  void stop(std::chrono::milliseconds grace);

  // Drain notice: /readyz answers 503 from now on while everything else keeps
  // working, so load balancers stop sending before stop() refuses
  // connections. Any thread.
  void announce_drain();

 private:
  void schedule_heartbeat(std::size_t worker);
  void schedule_expiry(std::size_t worker);
  void drain_batch(std::size_t worker, std::size_t per_batch);

  struct impl;
  std::unique_ptr<impl> impl_;
};

// Blocks SIGINT and SIGTERM in the calling thread (and so in threads it starts
// afterwards) and waits for one of them. Returns the signal number.
int wait_for_termination_signal();
void block_termination_signals();

}  // namespace hf::app
