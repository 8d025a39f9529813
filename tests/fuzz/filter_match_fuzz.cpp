// Fuzz target: filter normalisation and matching. Input: "<filters JSON>\n<payload JSON>".
#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

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
  // The set (which looks filters up by their first field when a type has
  // many) answers as the naive reference: any filter of the type matches.
  // Copies of the kept filters with their first value varied make types
  // with many filters from one input.
  std::vector<hf::protocol::filter> all = kept;
  for (const auto& f : kept)
    for (int i = 0; i < 12 && !f.fields.empty(); ++i) {
      auto g = f;
      g.fields.front().second += std::to_string(i);
      all.push_back(std::move(g));
    }
  hf::protocol::filter_set set;
  std::vector<hf::protocol::filter> unique;
  for (const auto& f : all)
    if (std::find(unique.begin(), unique.end(), f) == unique.end()) unique.push_back(f);
  set.add(unique, SIZE_MAX);
  std::vector<std::string> types;
  for (const auto& f : unique) types.push_back(f.type);
  types.push_back("");
  for (const auto& t : types) {
    bool want = false;
    for (const auto& f : unique) want = want || hf::protocol::matches(f, t, p);
    if (set.matches(t, p) != want) std::abort();
  }
  return 0;
}
