#include "broker/epoch_fence.hpp"

#include "recovery/merge.hpp"

namespace hf::broker {
namespace {
constexpr std::size_t slot_count = 16384;
}

std::optional<std::uint64_t> epoch_fence::config_epoch(std::string_view epoch) noexcept {
  return recovery::epoch_stamp(epoch);
}

bool epoch_fence::admit(std::uint16_t slot, std::string_view epoch) {
  auto c = config_epoch(epoch);
  if (!c || slot >= slot_count) return true;
  if (highest_.empty()) highest_.assign(slot_count, 0);
  if (*c < highest_[slot]) {
    ++refused_;
    return false;
  }
  highest_[slot] = *c;
  return true;
}

}  // namespace hf::broker
