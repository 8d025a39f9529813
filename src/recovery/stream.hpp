// A user's stream as recovery sees it (docs/protocol.md section 7): an
// envelope with its place (epoch, offset), a position a client asks to
// recover from, and what a read of the stream returned. Plain values: the
// shard's own history and the cluster's store in Redis both produce them,
// and the merge (recovery/merge.hpp) consumes them.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "protocol/envelope.hpp"

namespace hf::recovery {

// An envelope with its place in the user's stream.
struct numbered {
  std::shared_ptr<const protocol::envelope> env;
  std::string epoch;
  std::uint64_t offset = 0;
};

// A client's position: the last offset it has in `epoch`.
struct stream_position {
  std::string epoch;
  std::uint64_t offset = 0;
};

// A read of a user's stream: its epoch, latest offset and, when a position
// was given in the current epoch, the kept envelopes after it.
struct stream_view {
  bool ok = false;  // false: the stream could not be read (Redis unreachable)
  std::string epoch;
  std::uint64_t latest = 0;
  // The kept envelopes after the position asked about, oldest first;
  // `complete` when they reach back to it without a gap.
  std::vector<numbered> records;
  bool complete = false;
};

}  // namespace hf::recovery
