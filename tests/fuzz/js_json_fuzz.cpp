// Fuzz target: JSON parsing and JSON.stringify-compatible output. Whatever
// parses must serialise to JSON that parses again and serialises identically.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "core/js_json.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto v = hf::core::parse_json(std::string_view(reinterpret_cast<const char*>(data), size));
  if (!v) return 0;
  std::string once = hf::core::to_js_json(*v);
  auto again = hf::core::parse_json(once);
  if (!again) std::abort();
  if (hf::core::to_js_json(*again) != once) std::abort();
  return 0;
}
