// Lower-case hexadecimal digits, for UUIDs, node ids and JSON \u escapes. Pure.
#pragma once

#include <cstdint>
#include <string>

namespace hf::core {

inline constexpr char hex_digits[] = "0123456789abcdef";

// Appends the two lower-case hex digits of `byte`.
inline void append_hex(std::string& out, std::uint8_t byte) {
  out.push_back(hex_digits[byte >> 4]);
  out.push_back(hex_digits[byte & 15]);
}

}  // namespace hf::core
