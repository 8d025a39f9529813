// Where a shard reads a user's stream (epoch, latest offset, kept envelopes)
// when it is kept outside the shard: in cluster mode, in Redis, shared by
// every node (docs/protocol.md section 7).
#pragma once

#include <functional>
#include <optional>
#include <string>

#include "recovery/stream.hpp"

namespace hf::hub {

// The stream's values (recovery/stream.hpp), under the names the hub uses.
using numbered = recovery::numbered;
using stream_view = recovery::stream_view;
using stream_position = recovery::stream_position;

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
