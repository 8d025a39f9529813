// Where a shard reads a user's stream (epoch, latest offset, kept envelopes)
// when it is kept outside the shard: in cluster mode, in Redis, shared by
// every node (PROTOCOL.md section 7).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "protocol/envelope.hpp"

namespace hf::hub {

// An envelope with its place in the user's stream.
struct numbered {
  std::shared_ptr<const protocol::envelope> env;
  std::string epoch;
  std::uint64_t offset = 0;
};

struct stream_view {
  bool ok = false;  // false: the stream could not be read (Redis unreachable)
  std::string epoch;
  std::uint64_t latest = 0;
  // The kept envelopes after the position asked about, oldest first;
  // `complete` when they reach back to it.
  std::vector<numbered> records;
  bool complete = false;
};

struct stream_position {
  std::string epoch;
  std::uint64_t offset = 0;
};

class stream_source {
 public:
  virtual ~stream_source() = default;

  // Reads `user`'s stream: its epoch (a new one for a user nothing is known
  // about) and latest offset, and, with `after`, the kept envelopes above
  // after->offset when after->epoch is the current epoch. Calls `done`
  // exactly once, on any thread.
  virtual void read_stream(const std::string& user, std::optional<stream_position> after,
                           std::function<void(stream_view)> done) = 0;
};

}  // namespace hf::hub
