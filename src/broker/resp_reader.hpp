// hiredis's reply reader with a bound on arrays: the default one allocates
// an element table as long as any array header announces (a broken or
// hostile peer's "*2000000000" asks for 16 GB at once). This one builds the
// same redisReply objects (freed by freeReplyObject) but refuses an array
// longer than `max_array_elements`: the reader then fails, and the link that
// owns it is dropped like any other unreadable connection.
#pragma once

#include <cstddef>

struct redisReader;

namespace hf::broker {

// The longest array a reply may hold: a recovery read returns two elements
// per kept envelope (HISTORY_SIZE at most 1,000,000), CLUSTER SLOTS one per
// slot range (at most 16,384).
inline constexpr std::size_t max_array_elements = 2'000'016;

// A new reader (redisReaderFree frees it), or nullptr when out of memory.
redisReader* make_bounded_reader();

}  // namespace hf::broker
