// The usual POST /publish body read in one pass, without building a JSON
// DOM (docs/protocol.md section 5). Pure.
//
// It accepts only a shape whose meaning is certain without a DOM: an object
// with the members `userId`, `type`, `payload` and `ackTimeoutMs` (each at
// most once, no others, no escapes in their names), `userId` and `type`
// strings without escapes, `ackTimeoutMs` a plain integer, and a payload
// already written as JSON.stringify writes it (no whitespace, integers of at
// most 15 digits other than -0, only the escapes \" \\ \b \f \n \r \t, no
// key that is an array index, no repeated key, nesting at most 32 deep).
// Anything else, valid or not, is declined (nullopt) and the caller parses
// the body with the DOM, which then decides; for every body it accepts, the
// result equals the DOM path's (tests/fuzz/publish_scan_fuzz.cpp checks it),
// with the payload kept as its text.
#pragma once

#include <optional>
#include <string_view>

#include "protocol/publish_request.hpp"

namespace hf::protocol {

// `body` must be valid UTF-8 without a byte order mark (the caller checks;
// otherwise the body is decoded first and goes the DOM way).
std::optional<publish_request> scan_publish(std::string_view body);

}  // namespace hf::protocol
