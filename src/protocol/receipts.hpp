// What sections 11-13 of docs/protocol.md add to the answers: each target's
// receipt in a publish's answer, the `cancel` frame, and the roster of a
// user's sockets. Pure.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace hf::protocol {

// A device name (section 11): 1-64 printable ASCII characters, '!' to '~'.
bool valid_device(std::string_view s) noexcept;

enum class receipt_state : std::uint8_t { acked, pending, gone };

// One target of a publish, as the answer's `devices` lists it.
struct receipt {
  std::optional<std::string> device;  // null: the socket named none
  receipt_state state = receipt_state::pending;
  // Acked: its result's JSON text (absent when the result limits left it out).
  std::optional<std::string> result;
  std::int64_t ack_ms = 0;  // acked: ms from the publish's arrival to the ack
  bool operator==(const receipt&) const = default;
};

// Orders receipts as the answer lists them: acked first, by ack time (a
// stable sort: equal times keep their order), then pending, then gone.
void order_receipts(std::vector<receipt>& r);

// Appends `,"devices":[...]` (the entries in the given order).
void append_devices(std::string& out, const std::vector<receipt>& r);

// {"type":"cancel","envelopeId":"<id>"} (section 12).
std::string serialize_cancel(std::string_view envelope_id);

// One open socket of a user (section 13).
struct roster_entry {
  std::optional<std::string> device;
  std::int64_t since_ms = 0;  // the upgrade, in ms since the Unix epoch (UTC)
  bool operator==(const roster_entry&) const = default;
};

// {"userId":"<U>","devices":[{"device":...,"since":"<ISO>"},...]}, ordered
// by since, then device (null first, then byte order).
std::string serialize_roster(std::string_view user_id, std::vector<roster_entry> entries);

}  // namespace hf::protocol
