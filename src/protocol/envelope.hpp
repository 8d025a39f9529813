// The envelope delivered to sockets (docs/protocol.md section 5). Pure, except
// random_uuid_v4(), which reads OpenSSL's CSPRNG.
#pragma once

#include <array>
#include <boost/json/value.hpp>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace hf::protocol {

// Formats 16 random bytes as a version-4 UUID: lower-case 8-4-4-4-12, version
// nibble 4, variant bits 10.
std::string format_uuid_v4(const std::array<std::uint8_t, 16>& random_bytes);

// A fresh random UUID v4. Safe on any thread (OpenSSL 3's DRBG is per thread).
std::string random_uuid_v4();

// 64 random bits in lower-case hex: a name no other process of a cluster
// has (incarnations, node ids). Same source as random_uuid_v4.
std::string random_hex_id();

// UTC ISO 8601 with milliseconds and Z, as JavaScript's Date#toISOString.
std::string format_iso_timestamp(std::chrono::system_clock::time_point t);
void append_iso_timestamp(std::string& out, std::chrono::system_clock::time_point t);

// What a publish may ask beyond section 5 (docs/protocol.md section 12). All
// off: the answer is section 5's, byte for byte.
struct publish_options {
  std::uint32_t until = 0;  // answer once this many targets acked; 0: "all" (section 5)
  bool receipts = false;    // the answer lists each target's device, state, result, ackMs
  bool cancel = false;      // after the answer, named targets that did not ack get `cancel`
  // Section 14: `unacked` and `late_ack` events go to WEBHOOK_URL (the
  // targets' receipts are collected for them, as for `receipts`).
  bool webhook = false;
  bool any() const noexcept { return until || receipts || cancel || webhook; }
  bool operator==(const publish_options&) const = default;
};

// An envelope ready for delivery: its fields for matching, and its text,
// serialised once and shared by every target socket.
struct envelope {
  std::string id;
  std::string type;
  std::string user_id;
  std::optional<boost::json::value> payload;
  std::string text;
  // A payload kept as text only (made from a one-pass read of the publish,
  // `payload` then absent): where it starts in `text` (it ends before the
  // closing brace); 0 = none. payload_dom() parses it when a filter needs it.
  std::uint32_t payload_at = 0;
  // In cluster mode, set from Redis (docs/protocol.md section 7): the user's epoch
  // and this envelope's offset in it. Empty / 0 otherwise: the shard that
  // owns the user numbers it.
  std::string epoch;
  std::uint64_t offset = 0;
  // Its publish's options, and when the publish arrived (ackMs counts from
  // then; on another node, from its arrival there less the time the origin
  // had already spent).
  publish_options options;
  std::chrono::steady_clock::time_point arrived{};
};

// Builds the envelope text in the contract's key order:
// {"envelopeId","type","userId","timestamp","payload"?}.
std::string serialize_envelope(std::string_view id, std::string_view type, std::string_view user_id,
                               std::string_view timestamp, const boost::json::value* payload);

envelope make_envelope(std::string type, std::string user_id,
                       std::optional<boost::json::value> payload,
                       std::chrono::system_clock::time_point now);
// The same with the payload given as text already in JSON.stringify's form
// (protocol/publish_scan.hpp), copied as it is; nullopt: no payload.
envelope make_envelope_from_json(std::string type, std::string user_id,
                                 std::optional<std::string_view> payload_json,
                                 std::chrono::system_clock::time_point now);

// The payload as filters read it (docs/protocol.md section 4): the parsed
// payload, or the text-only payload parsed into `scratch`; nullptr when the
// envelope has none.
const boost::json::value* payload_dom(const envelope& e,
                                      std::optional<boost::json::value>& scratch);

// The envelope whose text is `text` (as another node received it from
// make_envelope): nullopt unless it is a JSON object with string envelopeId,
// type and userId. `text` is kept byte for byte.
std::optional<envelope> parse_envelope(std::string_view text);

}  // namespace hf::protocol
