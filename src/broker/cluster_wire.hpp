// The messages nodes exchange through Redis, and the names of the channels
// they travel on. Pure: bytes in, values out; the broker only moves bytes.
//
// Channels: a node SUBSCRIBEs to "hf:u:<userId>" while it holds a socket of
// that user, and to its own reply channel "hf:r:<nodeId>:<incarnation>". The
// incarnation is random per process, so a node restarted with the same
// NODE_ID (or a second node given the same one) never receives answers meant
// for another process.
//
// Messages are a one-line header, then a body:
//   publish: "P1 <node> <incarnation> <request> <wait_ms> <epoch> <offset>\n" <envelope text>
//   answer:  "A1 <incarnation> <request> <envelopeId> <count> <dropped> <n>\n"
//            then n results, each "<length>:" <JSON text>
// and, for a publish with section 12's options (only then, so that a
// cluster of older nodes reads every ordinary publish as before):
//   publish: "P2 <node> <incarnation> <request> <wait_ms> <flags 0-3>
//            <cancel 0|1> <until> <elapsed_ms> <epoch> <offset>\n" <envelope text>
//            (flags: 1 receipts, 2 webhook; a node older than section 14
//            reads only 0 and 1, and drops a webhook publish it cannot read)
//   answer:  "A2 <incarnation> <request> <envelopeId> <count> <dropped> <phase> <n>\n"
//            then n receipts, each "<a|p|g><ackMs> <- or d<device>> <- or <length>:<JSON>>"
//   end:     "C1 <envelopeId>" on the user's channel: the origin answered.
// A node answers a publish with section 12's options once (phase final),
// or, for a publish with `until` that it waits on, as it goes: every
// target pending at once (initial, with its count), each ack as it comes
// (ack), then the targets that did not ack (final_after_initial), so that
// the origin can answer as soon as enough targets acked on any node.
// An answer names the exact publish it answers (the origin's incarnation, its
// request id and the envelope id), and the origin checks all three. Numbers
// are decimal without sign or leading zeros. The envelope and the results are
// carried verbatim (no escaping, no re-parsing of the whole message), and a
// result's own nesting never affects how the answer is read. The "1" is the
// format version: a message of an unknown version does not decode, and is
// ignored.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/envelope.hpp"
#include "protocol/receipts.hpp"

namespace hf::broker::wire {

// The longest ack wait a publish message may carry: ACK_TIMEOUT_MS's maximum.
inline constexpr std::uint64_t max_wait_ms = 3'600'000;

// Node ids, incarnations and envelope ids are 1-64 printable ASCII
// characters without spaces (they appear in channel names and headers).
inline constexpr std::size_t max_token = 64;
bool valid_token(std::string_view s) noexcept;

std::string user_channel(std::string_view user_id);
// The user of a user channel; nullopt for any other channel.
std::optional<std::string_view> user_of_channel(std::string_view channel) noexcept;
std::string reply_channel(std::string_view node_id, std::string_view incarnation);
// How every reply channel begins (no user channel does).
inline constexpr std::string_view reply_prefix = "hf:r:";

// A user's stream in Redis (docs/protocol.md section 7): the hash "hf:{<user>}:m"
// (field e: the epoch, o: the latest offset) and the stream "hf:{<user>}:s"
// of kept envelopes, whose entry ids are "0-<offset>". The braces keep both
// in one Redis Cluster slot.
std::string meta_key(std::string_view user_id);
std::string stream_key(std::string_view user_id);
// The names of one user's channel and keys in each mode. On one Redis
// (REDIS_URL) they are the functions above. On a Redis Cluster
// (REDIS_CLUSTER_NODES) all three carry the hash tag "{u:<user>}":
// "hf:{u:<user>}:c", ":m" and ":s", so that they share one slot whatever the
// user id holds (a tag is never empty, and a '}' in the id ends it at the
// same place in all three), and the publish script, which touches all
// three, runs on one shard.
struct names {
  bool sharded = false;
  std::string user_channel(std::string_view user_id) const;
  std::optional<std::string_view> user_of_channel(std::string_view channel) const noexcept;
  std::string meta_key(std::string_view user_id) const;
  std::string stream_key(std::string_view user_id) const;
};

// The offset of a stream entry id "0-<offset>"; nullopt for any other id.
std::optional<std::uint64_t> offset_of_entry(std::string_view id) noexcept;

// A publish on its way to every node that holds sockets of the user.
struct publish_message {
  std::string node;           // the node that took the publish (its NODE_ID)
  std::string incarnation;    // that node's process: answers go to its reply channel
  std::uint64_t request = 0;  // the origin's id for this publish
  std::uint64_t wait_ms = 0;  // how long a node may wait for its sockets' acks (<= max_wait_ms)
  std::string epoch;          // the user's epoch and the envelope's offset in it, given by
  std::uint64_t offset = 0;   // the publish script in Redis (docs/protocol.md section 7)
  std::string envelope;       // the envelope text, byte for byte as sockets receive it
  protocol::publish_options options;  // section 12 (any: a "P2" message)
  std::uint64_t elapsed_ms = 0;       // P2: how long the origin had held the publish when sent
  bool operator==(const publish_message&) const = default;
};

// One node's answer to a publish: its matching sockets and their results.
struct node_answer {
  std::string incarnation;           // echoed from the publish
  std::uint64_t request = 0;         // echoed from the publish
  std::string envelope_id;           // the envelope's id, checked by the origin
  std::uint64_t count = 0;           // sockets on that node that were sent the envelope
  std::uint64_t dropped = 0;         // results left out by the size limits (not in `results`)
  std::vector<std::string> results;  // JSON texts, in ack order; never more than count
  // Section 12 ("A2"): each target's receipt instead of `results`; a partial
  // answer has one acked receipt and no count.
  enum class phase : std::uint8_t { final, ack, initial, final_after_initial };
  bool receipts = false;
  phase step = phase::final;
  std::vector<protocol::receipt> entries;
  bool operator==(const node_answer&) const = default;
};

// "C1 <envelopeId>": the origin answered the publish (section 12), so nodes
// stop waiting for it (and send `cancel` when it asked for that).
std::string encode_end(std::string_view envelope_id);
std::optional<std::string_view> decode_end(std::string_view bytes) noexcept;

// encode() requires valid tokens. decode_*() returns nullopt for anything
// that encode() could not have produced.
std::string encode(const publish_message& m);
// The header up to and including the wait ("P1 <node> <incarnation>
// <request> <wait_ms> "): the publish script in Redis appends the epoch, the
// offset, the newline and the envelope, so that the numbering and the
// fan-out are one step.
std::string publish_prefix(const publish_message& m);
std::optional<publish_message> decode_publish(std::string_view bytes);
std::string encode(const node_answer& a);
std::optional<node_answer> decode_answer(std::string_view bytes);

}  // namespace hf::broker::wire
