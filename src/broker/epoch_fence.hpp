// On a Redis Cluster, refuses what a superseded master wrote.
//
// A master frozen long enough for its replica to be promoted (a hung host,
// a cut network) still runs, when it thaws, the publish scripts queued on
// its connections before it learns that it was demoted; and until this
// node reads the map again, it may take that master's word. Its envelopes
// are numbered in the user's old epoch: delivered, they would reach sockets
// after the publish was answered and move them back to an epoch they left.
//
// The fence: every epoch a master starts begins with its config epoch
// ("<config epoch>:...", broker/lua/epoch.lua), which Redis raises for a
// slot's new owner above the one it replaces (failover and migration
// alike). This remembers, per slot, the highest config epoch seen in a
// publish message or a stream read, and refuses anything stamped lower.
// Epochs without a stamp (one Redis, or written before the stamp existed)
// pass. Pure; broker thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

namespace hf::broker {

class epoch_fence {
 public:
  // The config epoch an epoch name is stamped with, if any.
  static std::optional<std::uint64_t> config_epoch(std::string_view epoch) noexcept;

  // True when `epoch` is not behind what `slot` has shown (and remembers
  // it); false when a lower config epoch wrote it.
  bool admit(std::uint16_t slot, std::string_view epoch);

  // How many messages and reads were refused.
  std::uint64_t refused() const noexcept { return refused_; }

 private:
  std::vector<std::uint64_t> highest_;  // by slot (16384, made on first use: 128 KiB)
  std::uint64_t refused_ = 0;
};

}  // namespace hf::broker
