// What a client may send on its socket (docs/protocol.md sections 3-5), parsed from
// one text frame. Pure.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "protocol/filter.hpp"

namespace hf::protocol {

struct ping_message {};
struct subscribe_message {
  std::vector<filter> filters;
};
struct unsubscribe_message {
  std::vector<filter> filters;
};
struct ack_message {
  // The id is kept inline (no allocation per ack): envelope ids are 36
  // characters, so an ack naming a longer id than max_id can match no
  // envelope and is ignored like any other ack for an unknown id.
  static constexpr std::size_t max_id = 64;
  std::array<char, max_id> id{};
  std::uint8_t id_size = 0;
  std::string result_json;  // the `result` member as JSON.stringify prints it; "null" when absent
  std::string_view envelope_id() const noexcept { return {id.data(), id_size}; }
};
// {"type":"recover"} or {"type":"recover","epoch":"E","offset":N}
// (docs/protocol.md section 7): opt into offsets, and resume after a position.
struct recover_message {
  struct position {
    std::string epoch;
    std::uint64_t offset = 0;
  };
  std::optional<position> from;  // absent: opt in only
};
// {"type":"refresh","token":"<JWT>"} (docs/protocol.md section 8). A refresh
// without a string token is still a refresh: it is answered refresh_failed.
struct refresh_message {
  std::optional<std::string> token;
};
// Unparseable text, non-objects, unknown types, malformed acks, recovers and
// lists that are not arrays: ignored silently, the socket stays open.
struct ignored_message {};

using client_message =
    std::variant<ignored_message, ping_message, subscribe_message, unsubscribe_message, ack_message,
                 recover_message, refresh_message>;

// True when the trimmed, lower-cased text is "ping".
bool is_ping(std::string_view text) noexcept;

// The fast path of parse_client_message for acks in their usual shape;
// nullopt when the text is anything else (exposed for tests and fuzzing).
std::optional<ack_message> scan_ack(std::string_view text);

client_message parse_client_message(std::string_view text);
// The same without the fast path: every message through a JSON value.
client_message parse_client_message_general(std::string_view text);

// {"type":"recovered","epoch":"<epoch>","offset":<latest>,"recovered":<bool>}
std::string serialize_recovered(std::string_view epoch, std::uint64_t latest, bool recovered);

// The envelope text `text` with "offset":<offset> as its last member, for a
// socket that opted into offsets.
std::string with_offset(std::string_view text, std::uint64_t offset);

// {"type":"refreshed","exp":<exp or null>}
std::string serialize_refreshed(std::optional<std::int64_t> exp);
// {"type":"refresh_failed","reason":"<reason>"}
std::string serialize_refresh_failed(std::string_view reason);

// The frame a socket gets when a subscribe went past its filter limit:
// {"type":"filters_refused","limit":<limit>,"refused":<how many were not added>}
std::string serialize_filters_refused(std::size_t limit, std::size_t refused);

}  // namespace hf::protocol
