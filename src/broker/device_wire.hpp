// The messages of docs/protocol.md sections 11 and 13 between nodes, on the
// same channels as publishes (broker/cluster_wire.hpp). Pure.
//
//   device opened: "R1 <incarnation> <since_ms> <device>" on the user's
//                  channel: nodes close their older socket of that device;
//   roster query:  "Q1 <node> <incarnation> <request>" on the user's channel;
//   roster answer: "D1 <incarnation> <request> <n>\n" then n lines
//                  "<since_ms> <- or d<device>>\n", on the asker's reply
//                  channel (incarnation as in a publish).
// Devices are 1-64 printable ASCII without spaces, so they travel as tokens.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/receipts.hpp"

namespace hf::broker::wire {

struct device_opened {
  std::string incarnation;  // the process whose socket opened (ties are broken by it)
  std::int64_t since_ms = 0;
  std::string device;
  bool operator==(const device_opened&) const = default;
};

struct roster_query {
  std::string node;
  std::string incarnation;  // where answers go (reply_channel(node, incarnation))
  std::uint64_t request = 0;
  bool operator==(const roster_query&) const = default;
};

struct roster_answer {
  std::string incarnation;  // echoed from the query
  std::uint64_t request = 0;
  std::vector<protocol::roster_entry> entries;
  bool operator==(const roster_answer&) const = default;
};

std::string encode(const device_opened& m);
std::string encode(const roster_query& m);
std::string encode(const roster_answer& m);
std::optional<device_opened> decode_device_opened(std::string_view bytes);
std::optional<roster_query> decode_roster_query(std::string_view bytes);
std::optional<roster_answer> decode_roster_answer(std::string_view bytes);

}  // namespace hf::broker::wire
