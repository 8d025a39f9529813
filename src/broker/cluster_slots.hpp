// Redis Cluster's key space, as far as a client must know it: which of the
// 16,384 slots a key (or a sharded channel) hashes to, who serves each slot
// (from CLUSTER SLOTS), and what a MOVED or ASK redirect says. Pure: replies
// in, values out; the connections live in broker/redis_cluster.hpp.
//
// Slot = CRC16 (XMODEM: polynomial 0x1021, initial value 0) of the key,
// modulo 16384; when the key holds a non-empty "{...}" (the first '{' and the
// first '}' after it), only the part between the braces is hashed, so that
// "hf:{alice}:m" and "hf:{alice}:s" share a slot (the cluster specification,
// "Hash tags").
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

struct redisReply;

namespace hf::broker::slots {

inline constexpr std::size_t slot_count = 16384;

std::uint16_t crc16(std::string_view bytes) noexcept;
std::uint16_t key_slot(std::string_view key) noexcept;

// A Redis node as clients address it.
struct endpoint {
  std::string host;
  int port = 0;
  bool operator==(const endpoint&) const = default;
};
std::string to_string(const endpoint& e);

// "MOVED <slot> <host>:<port>" or "ASK <slot> <host>:<port>" (an error
// reply's text). The host is empty for ":<port>" (a node that does not
// announce its address): the caller puts in the node that answered.
// nullopt for any other error.
struct redirect {
  bool ask = false;  // ASK: this one command goes there (after ASKING); MOVED: the slot moved
  std::uint16_t slot = 0;
  endpoint to;
};
std::optional<redirect> parse_redirect(std::string_view error) noexcept;

// Who serves each slot: the masters, and for every slot the index of its
// master (or none while no master covers it).
class slot_map {
 public:
  static constexpr std::uint16_t none = 0xffff;

  // From a CLUSTER SLOTS reply: [[first, last, [host, port, id, ...],
  // replica...], ...]. A master's host that is empty or "?" (a node that does
  // not know its own address) is `fallback_host`: the node that answered.
  // nullopt when the reply is not of that shape (a range out of order or
  // beyond 16383, a port out of range, more than 16,384 ranges).
  static std::optional<slot_map> from_cluster_slots(const redisReply* r,
                                                    std::string_view fallback_host);

  const std::vector<endpoint>& masters() const noexcept { return masters_; }
  // Whether the map names `e`, as a master or as a replica: a redirect is
  // followed only to a node the cluster itself named (the node sends AUTH
  // with the cluster's password there).
  bool names(const endpoint& e) const noexcept;
  // The master's index in masters() for a slot, or `none`.
  std::uint16_t owner(std::uint16_t slot) const noexcept { return owner_[slot % slot_count]; }
  const endpoint* master_of(std::uint16_t slot) const noexcept;
  // Every slot has a master.
  bool complete() const noexcept;
  // A MOVED redirect: the slot is served by `to` from now on.
  void moved(std::uint16_t slot, const endpoint& to);

 private:
  std::uint16_t index_of(const endpoint& e);
  std::vector<endpoint> masters_;
  // The replicas CLUSTER SLOTS named (a promoted one answers MOVED), at
  // most max_replicas of them.
  static constexpr std::size_t max_replicas = 1024;
  std::vector<endpoint> replicas_;
  std::array<std::uint16_t, slot_count> owner_ = filled();
  static std::array<std::uint16_t, slot_count> filled() {
    std::array<std::uint16_t, slot_count> a;
    a.fill(none);
    return a;
  }
};

}  // namespace hf::broker::slots
