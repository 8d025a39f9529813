#include "protocol/filter.hpp"

#include <algorithm>
#include <bit>
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

namespace {

// The (key, value) a filter is found by: its first field (the smallest key).
// Within one type, filter_set's order is by this pair first.
int compare_first(const filter& f, std::string_view key, std::string_view value) noexcept {
  const auto& [k, v] = f.fields.front();
  if (int c = std::string_view(k).compare(key)) return c;
  return std::string_view(v).compare(value);
}

// `f` (of the envelope's type, with fields) matches the payload object `obj`.
bool fields_match(const filter& f, const boost::json::object& obj) noexcept {
  for (const auto& [key, want] : f.fields) {
    const boost::json::value* v = obj.if_contains(key);
    if (!v) return false;
    const boost::json::string* s = v->if_string();
    if (!s || std::string_view(*s) != want) return false;
  }
  return true;
}

}  // namespace

// The type-only filter of a type sorts first among its filters.
bool filter_set::reads_payload(std::string_view type) const noexcept {
  auto first = std::lower_bound(filters_.begin(), filters_.end(), type,
                                [](const filter& f, std::string_view t) { return f.type < t; });
  return first != filters_.end() && first->type == type && !first->fields.empty();
}

// The filters of one type are contiguous, a type-only filter (at most one)
// first, the others ordered by their first (key, value): the sorted vector is
// its own index. A type with few filters is scanned (as cheap as ever); for a
// type with many, each string member (k, v) of the payload looks up the
// filters whose first field is exactly (k, v), the only ones that can match,
// by binary search. Whichever costs fewer comparisons is used, so neither a
// payload with many members nor a socket with many filters costs more than
// the plain scan.
bool filter_set::matches(std::string_view type, const boost::json::value* payload) const noexcept {
  auto first = std::lower_bound(filters_.begin(), filters_.end(), type,
                                [](const filter& f, std::string_view t) { return f.type < t; });
  if (first == filters_.end() || first->type != type) return false;
  if (first->fields.empty()) return true;  // type-only: every payload
  const boost::json::object* obj = payload ? payload->if_object() : nullptr;
  if (!obj) return false;  // every other filter of the type needs a member
  constexpr std::size_t scan_below = 8;
  auto scan_end = filters_.end();
  if (static_cast<std::size_t>(filters_.end() - first) > scan_below &&
      first[scan_below].type == type) {
    auto last = std::upper_bound(first + scan_below, filters_.end(), type,
                                 [](std::string_view t, const filter& f) { return t < f.type; });
    std::size_t n = static_cast<std::size_t>(last - first);
    if (obj->size() * static_cast<std::size_t>(std::bit_width(n)) < n) {
      for (const auto& member : *obj) {
        const boost::json::string* s = member.value().if_string();
        if (!s) continue;
        std::string_view key = member.key(), value = *s;
        auto it = std::lower_bound(
            first, last, 0, [&](const filter& f, int) { return compare_first(f, key, value) < 0; });
        for (; it != last && compare_first(*it, key, value) == 0; ++it)
          if (fields_match(*it, *obj)) return true;
      }
      return false;
    }
    scan_end = last;
  }
  for (auto it = first; it != scan_end && it->type == type; ++it)
    if (fields_match(*it, *obj)) return true;
  return false;
}

}  // namespace hf::protocol
