#include "protocol/filter.hpp"

#include <algorithm>
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/string.hpp>

#include "core/text.hpp"

namespace hf::protocol {
namespace {

// One list entry -> filter, or false when the entry is dropped.
bool normalize_entry(const boost::json::value& entry, filter& out) {
  const boost::json::object* obj = entry.if_object();
  if (!obj) return false;
  out.type.clear();
  out.fields.clear();
  bool has_type = false;
  for (const auto& kv : *obj) {
    const boost::json::string* s = kv.value().if_string();
    if (!s) return false;
    if (kv.key() == "type") {
      std::string_view t = core::js_trim(*s);
      if (t.empty()) return false;
      out.type.assign(t);
      has_type = true;
    } else {
      out.fields.emplace_back(std::string(kv.key()), std::string(*s));
    }
  }
  if (!has_type) return false;
  std::sort(out.fields.begin(), out.fields.end());
  return true;
}

}  // namespace

std::vector<filter> normalize_filters(const boost::json::value& filters) {
  std::vector<filter> kept;
  const boost::json::array* arr = filters.if_array();
  if (!arr) return kept;
  std::size_t n = std::min(arr->size(), max_filters_per_message);
  filter f;
  for (std::size_t i = 0; i < n; ++i) {
    if (!normalize_entry((*arr)[i], f)) continue;
    if (std::find(kept.begin(), kept.end(), f) == kept.end()) kept.push_back(std::move(f));
  }
  return kept;
}

bool matches(const filter& f, std::string_view type, const boost::json::value* payload) noexcept {
  if (f.type != type) return false;
  if (f.fields.empty()) return true;
  const boost::json::object* obj = payload ? payload->if_object() : nullptr;
  if (!obj) return false;
  for (const auto& [key, want] : f.fields) {
    const boost::json::value* v = obj->if_contains(key);
    if (!v) return false;
    const boost::json::string* s = v->if_string();
    if (!s || std::string_view(*s) != want) return false;
  }
  return true;
}

filter_set::add_result filter_set::add(std::vector<filter> filters, std::size_t limit) {
  add_result r;
  for (auto& f : filters) {
    auto at = std::lower_bound(filters_.begin(), filters_.end(), f);
    if (at != filters_.end() && *at == f) continue;  // already there
    if (filters_.size() >= limit) {
      ++r.refused;
      continue;
    }
    filters_.insert(at, std::move(f));
    ++r.added;
  }
  return r;
}

std::size_t filter_set::remove(const std::vector<filter>& filters) {
  std::size_t removed = 0;
  for (const auto& f : filters) {
    auto at = std::lower_bound(filters_.begin(), filters_.end(), f);
    if (at == filters_.end() || *at != f) continue;
    filters_.erase(at);
    ++removed;
  }
  if (filters_.empty()) filters_.shrink_to_fit();  // nothing left: no heap kept
  return removed;
}

bool filter_set::matches(std::string_view type, const boost::json::value* payload) const noexcept {
  auto first = std::lower_bound(filters_.begin(), filters_.end(), type,
                                [](const filter& f, std::string_view t) { return f.type < t; });
  for (auto it = first; it != filters_.end() && it->type == type; ++it)
    if (protocol::matches(*it, type, payload)) return true;
  return false;
}

}  // namespace hf::protocol
