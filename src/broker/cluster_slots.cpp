#include "broker/cluster_slots.hpp"

#include <hiredis/hiredis.h>

#include <charconv>

namespace hf::broker::slots {
namespace {

// CRC16/XMODEM, one byte at a time from a table built at compile time.
constexpr std::array<std::uint16_t, 256> crc_table() {
  std::array<std::uint16_t, 256> t{};
  for (unsigned i = 0; i < 256; ++i) {
    std::uint16_t c = static_cast<std::uint16_t>(i << 8);
    for (int b = 0; b < 8; ++b)
      c = static_cast<std::uint16_t>((c & 0x8000) ? (c << 1) ^ 0x1021 : c << 1);
    t[i] = c;
  }
  return t;
}
constexpr auto table = crc_table();

template <class T>
std::optional<T> number(std::string_view s) {
  T v{};
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc{} || p != s.data() + s.size() || s.empty()) return std::nullopt;
  return v;
}

// "host:port", split at the last ':' (an IPv6 host keeps its own colons).
// The host may be empty (Redis 7 with cluster-preferred-endpoint-type
// unknown-endpoint): the caller puts in the node that answered.
std::optional<endpoint> parse_endpoint(std::string_view s) {
  auto colon = s.rfind(':');
  if (colon == std::string_view::npos) return std::nullopt;
  auto port = number<int>(s.substr(colon + 1));
  if (!port || *port <= 0 || *port > 65535) return std::nullopt;
  return endpoint{std::string(s.substr(0, colon)), *port};
}

bool is_array(const redisReply* r, std::size_t at_least) {
  return r && r->type == REDIS_REPLY_ARRAY && r->elements >= at_least;
}
bool is_int(const redisReply* r) { return r && r->type == REDIS_REPLY_INTEGER; }
bool is_str(const redisReply* r) {
  return r && (r->type == REDIS_REPLY_STRING || r->type == REDIS_REPLY_STATUS);
}

}  // namespace

std::uint16_t crc16(std::string_view bytes) noexcept {
  std::uint16_t c = 0;
  for (unsigned char b : bytes)
    c = static_cast<std::uint16_t>((c << 8) ^ table[((c >> 8) ^ b) & 0xff]);
  return c;
}

std::uint16_t key_slot(std::string_view key) noexcept {
  auto open = key.find('{');
  if (open != std::string_view::npos) {
    auto close = key.find('}', open + 1);
    if (close != std::string_view::npos && close > open + 1)
      key = key.substr(open + 1, close - open - 1);
  }
  return crc16(key) % slot_count;
}

std::string to_string(const endpoint& e) { return e.host + ":" + std::to_string(e.port); }

std::optional<redirect> parse_redirect(std::string_view error) noexcept {
  redirect r;
  if (error.starts_with("MOVED "))
    error.remove_prefix(6);
  else if (error.starts_with("ASK "))
    r.ask = true, error.remove_prefix(4);
  else
    return std::nullopt;
  auto space = error.find(' ');
  if (space == std::string_view::npos) return std::nullopt;
  auto slot = number<unsigned>(error.substr(0, space));
  auto to = parse_endpoint(error.substr(space + 1));
  if (!slot || *slot >= slot_count || !to) return std::nullopt;
  r.slot = static_cast<std::uint16_t>(*slot);
  r.to = std::move(*to);
  return r;
}

std::optional<slot_map> slot_map::from_cluster_slots(const redisReply* r,
                                                     std::string_view fallback_host) {
  if (!r || r->type != REDIS_REPLY_ARRAY || r->elements > slot_count) return std::nullopt;
  slot_map m;
  for (std::size_t i = 0; i < r->elements; ++i) {
    const redisReply* range = r->element[i];
    if (!is_array(range, 3) || !is_int(range->element[0]) || !is_int(range->element[1]))
      return std::nullopt;
    long long first = range->element[0]->integer, last = range->element[1]->integer;
    if (first < 0 || last < first || last >= static_cast<long long>(slot_count))
      return std::nullopt;
    const redisReply* master = range->element[2];
    if (!is_array(master, 2) || !is_str(master->element[0]) || !is_int(master->element[1]))
      return std::nullopt;
    long long port = master->element[1]->integer;
    if (port <= 0 || port > 65535) return std::nullopt;
    std::string host(master->element[0]->str, master->element[0]->len);
    if (host.empty() || host == "?") host = std::string(fallback_host);
    auto at = m.index_of({std::move(host), static_cast<int>(port)});
    for (long long s = first; s <= last; ++s) m.owner_[static_cast<std::size_t>(s)] = at;
    for (std::size_t k = 3; k < range->elements; ++k) {
      const redisReply* replica = range->element[k];
      if (!is_array(replica, 2) || !is_str(replica->element[0]) || !is_int(replica->element[1]))
        continue;
      long long rport = replica->element[1]->integer;
      std::string rhost(replica->element[0]->str, replica->element[0]->len);
      if (rport <= 0 || rport > 65535 || rhost.empty() || rhost == "?") continue;
      endpoint e{std::move(rhost), static_cast<int>(rport)};
      if (m.replicas_.size() < max_replicas && !m.names(e)) m.replicas_.push_back(std::move(e));
    }
  }
  return m;
}

bool slot_map::names(const endpoint& e) const noexcept {
  for (const auto& m : masters_)
    if (m == e) return true;
  for (const auto& r : replicas_)
    if (r == e) return true;
  return false;
}

const endpoint* slot_map::master_of(std::uint16_t slot) const noexcept {
  auto at = owner(slot);
  return at == none ? nullptr : &masters_[at];
}

bool slot_map::complete() const noexcept {
  for (auto o : owner_)
    if (o == none) return false;
  return true;
}

void slot_map::moved(std::uint16_t slot, const endpoint& to) {
  // At most one master per slot can be named; past that, a redirect waits
  // for the next full refresh.
  bool known = false;
  for (const auto& m : masters_) known = known || m == to;
  if (!known && masters_.size() >= slot_count) return;
  owner_[slot % slot_count] = index_of(to);
}

std::uint16_t slot_map::index_of(const endpoint& e) {
  for (std::size_t i = 0; i < masters_.size(); ++i)
    if (masters_[i] == e) return static_cast<std::uint16_t>(i);
  masters_.push_back(e);
  return static_cast<std::uint16_t>(masters_.size() - 1);
}

}  // namespace hf::broker::slots
