// What a publish gets back from the sockets it reached, and how it is handed
// back. Shared by the hub (one node's sockets), the brokers (every node's) and
// the HTTP side. Pure types.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "metrics/metrics.hpp"
#include "protocol/receipts.hpp"

namespace hf::hub {

// How many sockets matched and were sent the envelope, and their ack results
// in arrival order (each one JSON text), bounded by ack::result_limits.
struct delivery_result {
  std::size_t client_count = 0;
  std::vector<std::string> results;
  std::size_t dropped = 0;  // results left out by the result limits
  // Set when the answer may be missing part of the picture.
  std::optional<metrics::degradation> degraded;
  // Section 12: each target's receipt (a publish with receipts, or `until`
  // or `cancel`, which need the devices too), in the answer's order; and
  // why the answer was sent.
  std::vector<protocol::receipt> receipts;
  metrics::completion why = metrics::completion::all_done;
};

// Section 12 in a cluster, for a publish with `until`: every target at once
// (all pending), then each ack as it comes (one receipt), so that the origin
// counts acks from every node. On the shard's thread.
using ack_progress = std::function<void(std::vector<protocol::receipt>)>;

// Called exactly once per delivery or publish; the component that takes it
// says on which thread and by when.
using delivery_callback = std::function<void(delivery_result)>;

using deadline = std::chrono::steady_clock::time_point;

}  // namespace hf::hub
