// Small text helpers with JavaScript semantics where the original service's
// behaviour depends on them (String.prototype.trim, TextDecoder). Pure.
#pragma once

#include <string>
#include <string_view>

namespace hf::core {

// Removes leading and trailing white space exactly as JavaScript's
// String.prototype.trim does: ASCII TAB, LF, VT, FF, CR, SPACE and the Unicode
// White_Space / line-terminator set (U+00A0, U+1680, U+2000-U+200A, U+2028,
// U+2029, U+202F, U+205F, U+3000, U+FEFF), read as UTF-8.
std::string_view js_trim(std::string_view s) noexcept;

// True when `s` is blank after js_trim.
inline bool js_blank(std::string_view s) noexcept { return js_trim(s).empty(); }

// ASCII-only case folding; the strings it is used on (header values, "ping",
// "bearer ") are compared case-insensitively by the contract in ASCII.
char ascii_lower(char c) noexcept;
bool iequals(std::string_view a, std::string_view b) noexcept;
bool istarts_with(std::string_view s, std::string_view prefix) noexcept;
bool icontains(std::string_view haystack, std::string_view needle) noexcept;

// Decodes bytes the way the WHATWG "UTF-8 decode" used by fetch's
// Request.text()/json() does: a leading BOM is dropped and every invalid
// sequence becomes U+FFFD (maximal-subpart rule). Returns `s` unchanged
// (no copy is made by the caller) when it is already valid and has no BOM.
// `changed` tells whether the result differs from the input.
std::string whatwg_utf8_decode(std::string_view s, bool& changed);

// True when `s` is 1 to `max` bytes of printable ASCII without spaces
// (0x21-0x7E): names that travel inside protocol lines (node ids).
bool printable_token(std::string_view s, std::size_t max) noexcept;

// `s` made safe for a log line: printable ASCII and UTF-8 characters from
// U+00A0 up stay as they are; a backslash becomes "\\"; every other byte
// (CR, LF, ESC and other controls, C1 controls, invalid UTF-8) becomes
// "\xNN". For strings a client chose, such as user ids.
std::string printable(std::string_view s);

// Percent-decoding: "%XY" with two hex digits becomes that byte; a '%'
// not followed by two hex digits stays literally. With `plus_is_space`
// ('application/x-www-form-urlencoded', as URLSearchParams reads a query)
// '+' is a space; in a path segment it stays '+'.
std::string percent_decode(std::string_view s, bool plus_is_space);

// True when `s` is well-formed UTF-8.
bool valid_utf8(std::string_view s) noexcept;

// `url` with whatever precedes an '@' in its authority replaced by "***", so
// that logs and error messages never echo a password.
std::string without_userinfo(std::string_view url);

}  // namespace hf::core
