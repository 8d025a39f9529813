// Section 14 in cluster mode: what the webhook outbox keeps in Redis and
// says to it. One stream, "hf:{webhooks}:events" (one slot on a Redis
// Cluster), read by the consumer group "senders"; each node is a consumer
// named after its NODE_ID and incarnation. An entry is an event (fields i:
// id, b: body, t: made, ms since the Unix epoch) pending for the node that
// holds it: added and handed to that node by one script
// (broker/lua/webhook_keep.lua), held by XCLAIM ... JUSTID (which resets
// its idle time), taken by another node with XAUTOCLAIM once it was left
// alone for orphan_after, and gone by XACK + XDEL once delivered. Pure:
// argument vectors and reply readers (fuzzed with the store's replies).
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "broker/store.hpp"
#include "broker/webhook_outbox.hpp"

struct redisReply;

namespace hf::broker::webhook_store {

inline constexpr std::string_view stream_key = "hf:{webhooks}:events";
inline constexpr std::string_view group = "senders";
// Entries in the stream at most (every node's undelivered events): a keep
// beyond it is refused, and the event stays in its node's memory only.
inline constexpr std::size_t max_entries = 1'000'000;

std::string consumer_name(std::string_view node_id, std::string_view incarnation);

store::call keep(std::string_view consumer, const stored_event& e);
std::vector<std::string> forget_ack(const std::vector<std::string>& refs);
std::vector<std::string> forget_del(const std::vector<std::string>& refs);
std::vector<std::string> hold(std::string_view consumer, const std::vector<std::string>& refs);
std::vector<std::string> adopt(std::string_view consumer, std::chrono::milliseconds idle,
                               std::string_view cursor, std::size_t count);

// XCLAIM ... JUSTID's reply: the refs still pending (none when the group is
// gone: NOGROUP; nullopt: not its reply, another error included).
std::optional<std::vector<std::string>> read_held(const redisReply* r);

// The keep script's reply: the new entry's ref (nullopt: refused or not a
// reply of it), and entries handed over with it other than that one.
struct kept {
  std::optional<std::string> ref;
  std::vector<stored_event> found;
};
kept read_kept(const redisReply* r);

// XAUTOCLAIM's reply: the cursor to go on from ("0-0": the end) and the
// events taken (entries without an event's fields are skipped: deleted).
struct adopted {
  std::string cursor = "0-0";
  std::vector<stored_event> events;
};
std::optional<adopted> read_adopted(const redisReply* r);

}  // namespace hf::broker::webhook_store
