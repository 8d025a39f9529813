// Subscription filters (docs/protocol.md section 4): normalisation of a
// subscribe/unsubscribe list, a socket's filter set, and matching. Pure.
#pragma once

#include <boost/json/value.hpp>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace hf::protocol {

// Only the first 50 entries of a subscribe/unsubscribe list are looked at,
// kept or dropped alike: the original's limit, kept for compatibility.
inline constexpr std::size_t max_filters_per_message = 50;

// One exact-match filter: `type` (trimmed, non-blank) plus string members that
// must equal the envelope payload's members. `fields` is sorted by key and holds
// no "type", so two filters with the same key set and values compare equal.
struct filter {
  std::string type;
  std::vector<std::pair<std::string, std::string>> fields;

  bool operator==(const filter&) const = default;
  auto operator<=>(const filter&) const = default;  // by type first: filter_set's order
};

// Normalises the `filters` member of a subscribe/unsubscribe message. Returns
// the kept filters in order, duplicates collapsed; empty when `filters` is not
// an array or no entry qualifies.
std::vector<filter> normalize_filters(const boost::json::value& filters);

// True when `f` matches an envelope of `type` whose payload is `payload`
// (nullptr when the envelope has no payload member).
bool matches(const filter& f, std::string_view type, const boost::json::value* payload) noexcept;

// The filters of one socket. Kept sorted (by type, then by first field's
// key and value), so that adding, removing and de-duplicating cost O(log n)
// each and matching an envelope looks only at the filters of its type: a
// socket with thousands of filters costs a publish of another type one
// binary search, and one of a type with many filters a binary search per
// string member of the payload (the order is the index: no memory beyond the
// vector). Not thread-safe: owned by the socket's shard thread.
class filter_set {
 public:
  struct add_result {
    std::size_t added = 0;
    std::size_t refused = 0;  // new filters beyond `limit`: not added
  };
  // Adds each filter not already present while the set holds fewer than
  // `limit` filters; the rest are refused (and counted).
  add_result add(std::vector<filter> filters, std::size_t limit);
  // Removes every filter equal to one in `filters`. Returns how many were removed.
  std::size_t remove(const std::vector<filter>& filters);
  bool matches(std::string_view type, const boost::json::value* payload) const noexcept;
  // Whether matches(type, ...) reads the payload at all: a filter of `type`
  // with fields and none with `type` alone (a caller with the payload only
  // as text parses it just for such a set).
  bool reads_payload(std::string_view type) const noexcept;
  std::size_t size() const noexcept { return filters_.size(); }
  bool empty() const noexcept { return filters_.empty(); }

 private:
  std::vector<filter> filters_;  // sorted, no duplicates
};

}  // namespace hf::protocol
