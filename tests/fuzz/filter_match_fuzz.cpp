// Fuzz target: filter normalisation and matching. Input: "<filters JSON>\n<payload JSON>".
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "core/js_json.hpp"
#include "protocol/filter.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  std::size_t nl = in.find('\n');
  if (nl == std::string_view::npos) return 0;
  auto filters = hf::core::parse_json(in.substr(0, nl));
  auto payload = hf::core::parse_json(in.substr(nl + 1));
  if (!filters) return 0;
  auto kept = hf::protocol::normalize_filters(*filters);
  const boost::json::value* p = payload ? &*payload : nullptr;
  for (const auto& f : kept) {
    if (f.type.empty()) std::abort();
    bool m = hf::protocol::matches(f, f.type, p);
    // A type-only filter matches every payload of its type.
    if (f.fields.empty() && !m) std::abort();
    if (hf::protocol::matches(f, f.type + "x", p)) std::abort();
  }
  return 0;
}
