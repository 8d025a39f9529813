#include "core/alloc_count.hpp"

namespace hf::core {
namespace {
thread_local std::uint64_t allocations = 0;  // constant-initialised: safe in operator new
}  // namespace

void note_allocation() noexcept { ++allocations; }
std::uint64_t thread_allocations() noexcept { return allocations; }

}  // namespace hf::core
