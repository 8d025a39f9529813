// Section 15 of docs/protocol.md: safe retries with `Idempotency-Key`. The
// key's rule, the fingerprint of a publish body (so that the same key with
// another body is told apart), and the record kept per key: in flight, or
// the first answer. Pure.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "protocol/vocabulary.hpp"

namespace hf::protocol {

// 1-255 printable ASCII characters (space to '~').
bool valid_idempotency_key(std::string_view key) noexcept;

// SHA-256 (hex) of the body as canonical JSON: objects' members sorted by
// name, no white space, numbers and strings as JSON.stringify writes them.
// Two bodies that differ only in member order or white space have the same
// fingerprint. nullopt when `body` is not JSON.
std::optional<std::string> body_fingerprint(std::string_view body);

// What is kept for a key: the first request's fingerprint, and once it was
// answered, its status, body and degradation.
struct idempotency_record {
  std::string fingerprint;
  bool answered = false;
  unsigned status = 0;
  std::string body;
  std::optional<degradation> degraded;
  bool operator==(const idempotency_record&) const = default;
};
// "F<fingerprint>" in flight; "D<fingerprint> <status> <degraded index or
// ->\n<body>" answered. decode: nullopt for anything else.
std::string encode(const idempotency_record& r);
std::optional<idempotency_record> decode_idempotency_record(std::string_view bytes);

}  // namespace hf::protocol
