// JSON parsing and serialisation that reproduce what the original service
// (JavaScript: JSON.parse / JSON.stringify) puts on the wire, so clients that
// compare bytes see no difference. Pure.
#pragma once

#include <boost/json/fwd.hpp>
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <boost/system/result.hpp>
#include <optional>
#include <string>
#include <string_view>

namespace hf::core {

// Largest nesting depth accepted by every JSON parse in the server. JavaScript
// engines accept a few thousand; Boost.JSON's default is 32, which would turn
// legitimate payloads into 400s. 64 levels is deeper than any realistic
// message, and bounds the recursion of serialisation and destruction.
inline constexpr std::size_t max_json_depth = 64;

// Parses `text` as one JSON value (RFC 8259, as JSON.parse accepts it).
// Returns an error for anything JSON.parse would reject and for nesting
// deeper than max_json_depth. Never throws.
boost::system::result<boost::json::value> parse_json(std::string_view text,
                                                     boost::json::storage_ptr sp = {});

// Appends `v` to `out` exactly as JSON.stringify(v) would print it:
// - numbers in JavaScript's Number#toString form (1000, 1e+21, 1.5e-7);
//   integers beyond 2^53 are rounded to the nearest double as JS does;
// - strings with only ", \ and control characters escaped;
// - object members whose key is an array index ("0", "17") first in ascending
//   numeric order, then the rest in insertion order (ECMAScript property order).
void append_js_json(std::string& out, const boost::json::value& v);
void append_js_string(std::string& out, std::string_view s);
void append_js_number(std::string& out, double d);

// The value of a JSON number as JavaScript sees it (a double); nullopt for
// anything that is not a number.
std::optional<double> json_number(const boost::json::value& v) noexcept;

// Member `key` of `obj` when it is a string that is non-blank after js_trim,
// returned trimmed; nullopt otherwise (absent, not a string, blank).
std::optional<std::string_view> trimmed_string_member(const boost::json::object& obj,
                                                      std::string_view key) noexcept;

inline std::string to_js_json(const boost::json::value& v) {
  std::string s;
  append_js_json(s, v);
  return s;
}

}  // namespace hf::core
