// The ack results of one publish, bounded: a result larger than
// max_result_bytes, or one that would take the publish's results past
// max_total_bytes, is left out and counted instead, so a publish's answer
// (and, in a cluster, a node's answer on Redis) stays within a known size
// however many sockets ack with however large results. Pure. Not
// thread-safe: one owner.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

namespace hf::ack {

struct result_limits {
  // One ack's result (MAX_ACK_RESULT_BYTES): as large as the largest message
  // a client may send by default, so an ordinary ack is never cut.
  std::size_t max_result_bytes = 64 << 10;
  // All results of one publish (MAX_RESULTS_BYTES): 1 MiB keeps an answer
  // small for the publisher and far below Redis's pub/sub output-buffer
  // limits (8 MiB soft, 32 MiB hard by default) in a cluster.
  std::size_t max_total_bytes = 1 << 20;
};

class result_list {
 public:
  explicit result_list(result_limits limits = {}) : limits_(limits) {}

  // Appends `json` (one result's JSON text) when it fits both limits;
  // otherwise counts it as dropped. Returns true when it was kept.
  bool add(std::string json);
  // Results that an earlier stage (another node) already left out.
  void add_dropped(std::size_t n) noexcept { dropped_ += n; }

  std::vector<std::string>& items() noexcept { return items_; }
  const std::vector<std::string>& items() const noexcept { return items_; }
  std::size_t dropped() const noexcept { return dropped_; }
  std::size_t bytes() const noexcept { return bytes_; }

 private:
  result_limits limits_;
  std::vector<std::string> items_;
  std::size_t bytes_ = 0;
  std::size_t dropped_ = 0;
};

}  // namespace hf::ack
