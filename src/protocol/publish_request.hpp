// The body of POST /publish (docs/protocol.md section 5) and its answer. Pure.
#pragma once

#include <boost/json/value.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/errors.hpp"
#include "protocol/envelope.hpp"
#include "protocol/receipts.hpp"

namespace hf::protocol {

// Section 15 ("many users"): the most entries `userIds` may have, as the
// body sends them (before duplicates are removed). The contract's bound: one
// request makes at most this many envelopes in one go on one worker thread,
// and waits on at most this many deliveries.
inline constexpr std::size_t max_user_ids = 1000;

struct publish_request {
  std::string user_id;  // trimmed, non-blank; empty when user_ids is used
  // Section 15: `userIds`, trimmed, duplicates removed (the first occurrence
  // kept), in the body's order; empty for a publish to `userId`.
  std::vector<std::string> user_ids;
  std::string type;                           // trimmed, or "message"
  std::optional<boost::json::value> payload;  // absent vs present-and-null matters
  // Read by the one-pass scan (protocol/publish_scan.hpp): the payload's
  // text, already as JSON.stringify writes it; `payload` is then absent.
  std::optional<std::string> payload_json;
  bool has_payload() const noexcept { return payload || payload_json; }
  // Improve (optional request field): per-request ack deadline in ms; the
  // caller caps it by configuration. nullopt = the configured default.
  std::optional<std::int64_t> ack_timeout_ms;
  publish_options options;  // receipts, until, cancel (section 12)
};

// Runs checks 2-5 of the contract in order (auth, check 1, is the caller's):
// content type (errc::unsupported_media_type), JSON (errc::invalid_json_body),
// userId (errc::user_id_required; also for null, arrays, numbers, strings).
// Section 15: at the place of the userId check, a body with a `userIds`
// member (whatever its value) is a publish to many users: it must have no
// `userId` member (not even null) and be an array of 1 to max_user_ids
// strings, each non-blank once trimmed, or it is errc::invalid_user_ids. A
// body with neither member is errc::user_id_required.
// `content_type` is nullopt when the header is absent. The body is decoded as
// fetch's Request.json() does (BOM dropped, invalid UTF-8 replaced).
// An `ackTimeoutMs` that is present but not a non-negative number is
// errc::invalid_ack_timeout. Then section 12's members: `receipts` and
// `cancel` must be booleans (errc::invalid_receipts, errc::invalid_cancel),
// `until` "all", "first" or an integer >= 1 (errc::invalid_until; larger
// than 2^32 - 1 counts as "all").
// The usual shape of body is read in one pass without a DOM (its payload then
// comes as `payload_json`); every other body is parsed into a DOM.
result<publish_request> parse_publish_request(std::optional<std::string_view> content_type,
                                              std::string_view body);
// The same checks, always through the DOM (tests compare the two ways).
result<publish_request> parse_publish_request_dom(std::optional<std::string_view> content_type,
                                                  std::string_view body);

// {"clientCount":N,"results":[r1,...]} where each r is already JSON text.
// When results were left out by the result limits (`dropped` > 0), one more
// member follows: "resultsDropped":<dropped> (never present otherwise, so the
// contract's answer is unchanged for every publish within the limits).
// With `devices` (a publish with "receipts": true, section 12), the member
// "devices" follows "results" (protocol/receipts.hpp: append_devices).
std::string serialize_publish_answer(std::size_t client_count,
                                     const std::vector<std::string>& results,
                                     std::size_t dropped = 0,
                                     const std::vector<receipt>* devices = nullptr);

// {"error":"<message>"} for a publish that failed a check.
std::string serialize_error(std::string_view message);

}  // namespace hf::protocol
