// Section 14 of docs/protocol.md: the events a backend is told about when
// nobody handled an envelope (`unacked`) or a target acked after the answer
// (`late_ack`), the signature each POST carries, and when a failed POST is
// tried again. Pure (the signature reads OpenSSL's HMAC, nothing else).
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/receipts.hpp"

namespace hf::protocol {

// {"id":"<id>","event":"unacked","envelope":<envelope_json>,"clientCount":n,"devices":[...]}.
// `envelope_json` is the envelope's text as a socket that never sent
// `recover` receives it; `devices` the answer's receipts, in its order.
std::string serialize_unacked(std::string_view id, std::string_view envelope_json,
                              std::size_t client_count, const std::vector<receipt>& devices);

// {"id":"<id>","event":"late_ack","envelopeId":"<e>","userId":"<u>","device":<d or null>,
//  "result":<result_json>,"ackMs":n}. `result_json` is the ack's result as
// JSON text.
struct late_ack {
  std::string envelope_id;
  std::string user_id;
  std::optional<std::string> device;
  std::string result_json;
  std::int64_t ack_ms = 0;
};
std::string serialize_late_ack(std::string_view id, const late_ack& a);

// The `hopeflow-signature` header's value for a POST of `body` at Unix time
// `t` (seconds): "t=<t>,v1=<lower-case hex HMAC-SHA256 of "<t>.<body>">".
std::string webhook_signature(std::string_view secret, std::int64_t t, std::string_view body);

// Retries (section 14: growing delays, the same id and body, for at least
// five minutes). After the n-th failed attempt in a row (n >= 1) the next
// one starts after 1 s, 2 s, 4 s, ... doubling up to 60 s; an event that is
// still undelivered `webhook_give_up_after` after it was made is dropped
// (counted and logged). Against a receiver that answers errors at once:
// attempts at 0, 1, 3, 7, 15, 31, 63 and 123 s, then one a minute, 15 in
// all; a receiver that hangs adds its 5 s timeout to each.
std::chrono::milliseconds webhook_retry_delay(unsigned failures) noexcept;
inline constexpr std::chrono::minutes webhook_give_up_after{10};

}  // namespace hf::protocol
