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

// UTC ISO 8601 with milliseconds and Z, as JavaScript's Date#toISOString.
std::string format_iso_timestamp(std::chrono::system_clock::time_point t);

// An envelope ready for delivery: its fields for matching, and its text,
// serialised once and shared by every target socket.
struct envelope {
  std::string id;
  std::string type;
  std::string user_id;
  std::optional<boost::json::value> payload;
  std::string text;
  // In cluster mode, set from Redis (docs/protocol.md section 7): the user's epoch
  // and this envelope's offset in it. Empty / 0 otherwise: the shard that
  // owns the user numbers it.
  std::string epoch;
  std::uint64_t offset = 0;
};

// Builds the envelope text in the contract's key order:
// {"envelopeId","type","userId","timestamp","payload"?}.
std::string serialize_envelope(std::string_view id, std::string_view type, std::string_view user_id,
                               std::string_view timestamp, const boost::json::value* payload);

envelope make_envelope(std::string type, std::string user_id,
                       std::optional<boost::json::value> payload,
                       std::chrono::system_clock::time_point now);

// The envelope whose text is `text` (as another node received it from
// make_envelope): nullopt unless it is a JSON object with string envelopeId,
// type and userId. `text` is kept byte for byte.
std::optional<envelope> parse_envelope(std::string_view text);

}  // namespace hf::protocol
