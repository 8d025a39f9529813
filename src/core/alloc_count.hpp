// Heap allocations made by the calling thread, for the benchmark's
// "allocations per delivery" and /metrics. Counted by the server binary's
// replacement of the global operator new (app/counting_new.cpp); in programs
// without it (unit tests) the count stays 0.
#pragma once

#include <cstdint>

namespace hf::core {

void note_allocation() noexcept;
std::uint64_t thread_allocations() noexcept;

}  // namespace hf::core
