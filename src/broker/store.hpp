// What the cluster broker keeps in Redis and says to it, in one place: the
// scripts (broker/lua/*.lua, embedded at build time), the argument list of
// every command a node sends (each script's, the answer a node publishes,
// the NODE_ID claim), and the reading of their replies. Pure: it builds
// argument vectors and reads hiredis reply values; it sends nothing (the
// broker's units do, through a redis_backend). Unit-tested, and the reply
// readers are fuzzed (tests/fuzz/store_reply_fuzz.cpp) with bytes through
// the same bounded reader the links use.
//
// Keys and channels (cluster_wire.hpp, wire::names): a user's meta hash
// (e: epoch, o: latest offset, n: on a Redis Cluster, the master that wrote
// it), stream of kept envelopes (entry ids "0-<offset>") and channel share
// one slot. "hf:node:<NODE_ID>" holds the incarnation of the process that
// claims that NODE_ID.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "broker/cluster_wire.hpp"
#include "recovery/stream.hpp"

struct redisReply;

namespace hf::broker::store {

// A script as Redis keeps it: by the SHA-1 of its text, so that a call
// sends 40 hex digits instead of the text (EVALSHA), and the text once
// where Redis does not have it (NOSCRIPT: restarted, a promoted replica,
// SCRIPT FLUSH).
struct script {
  std::string text;
  std::string sha;
  explicit script(std::string source);
};
const script& publish_script();
const script& read_script();
const script& renew_script();
const script& claim_script();
const script& release_script();
const script& webhook_keep_script();  // section 14: broker/webhook_redis.hpp

// A user's meta key outlives its stream: while it exists, the user keeps
// its epoch, so positions stay comparable; a day without publishes to a
// user forgets it (its next publish starts a new epoch).
inline constexpr auto meta_ttl = std::chrono::hours(24);
// NODE_ID claims: renewed this often, expiring after three missed renewals.
inline constexpr auto claim_every = std::chrono::seconds(5);
inline constexpr auto claim_ttl = std::chrono::seconds(15);

// A script call: the arguments after EVALSHA/EVAL and the script's name
// (numkeys, keys, then arguments). The first key (index 1) routes it on a
// Redis Cluster.
struct call {
  const script* s;
  std::vector<std::string> args;
  std::string_view key() const noexcept { return args[1]; }
  // The whole command, by EVALSHA (or EVAL with the text).
  std::vector<std::string> argv(bool by_text = false) const;
};

// The commands of one mode (one Redis, or a Redis Cluster: `names.sharded`).
class commands {
 public:
  // The kept envelopes of a user: at most `history_size` of them and
  // `history_max_bytes` of text; a read for a recovering socket returns at
  // most `read_max_bytes` of them.
  struct bounds {
    std::size_t history_size = 100;
    std::chrono::milliseconds history_ttl{120'000};
    std::size_t history_max_bytes = 4 << 20;
    std::size_t read_max_bytes = 4 << 20;
  };
  commands(wire::names names, bounds b) : names_(names), bounds_(b) {}

  const wire::names& names() const noexcept { return names_; }

  // Numbers, records and fans out `envelope` for its user; `head` is
  // wire::publish_prefix of the message (the script completes it as
  // wire::encode does). `new_epoch` is used when Redis knows nothing of the
  // user.
  call publish(std::string_view user, std::string head, std::string_view envelope,
               std::string new_epoch) const;
  // The user's epoch, latest offset and, after `after` in its epoch, the
  // kept envelopes, oldest first, within the read bounds.
  call read(std::string_view user, const std::optional<recovery::stream_position>& after,
            std::string new_epoch) const;
  // A new epoch for the user (sent by EVAL: renewals are rare, and a
  // NOSCRIPT answer would send the renewal again behind the commands that
  // must come after it).
  call renew(std::string_view user, std::string new_epoch) const;
  call claim(std::string_view node_id, std::string_view incarnation) const;
  call release(std::string_view node_id, std::string_view incarnation) const;
  // A node's answer on the origin's reply channel (PUBLISH, or SPUBLISH on
  // a Redis Cluster), and its routing key.
  std::vector<std::string> answer(const wire::node_answer& a, std::string_view node,
                                  std::string_view incarnation) const;

 private:
  wire::names names_;
  bounds bounds_;
};

// --- replies ---

// Errors Redis gives before it runs a script at all (a cluster redirect or
// retry that ran out, NOSCRIPT twice, ...): nothing was done.
bool refused_before_run(std::string_view error) noexcept;
// The error text of a reply, or empty when it is not an error.
std::string_view error_of(const redisReply* r) noexcept;

// What came of a publish script.
struct publish_outcome {
  enum kind_t : std::uint8_t {
    counted,  // it ran: `receivers` nodes got the message
    refused,  // Redis refused it before it ran: it reached nobody
    lost,     // no answer (connection lost) or not a count: it may have reached anyone
  } kind = lost;
  std::size_t receivers = 0;
};
publish_outcome read_publish(const redisReply* r) noexcept;

// The read script's reply as a stream view; not ok when it is not one (a
// malformed entry included). `complete` when a position in the view's epoch
// was asked and the kept envelopes run, without a gap, from the one right
// after it to the latest.
recovery::stream_view read_stream(const redisReply* r,
                                  const std::optional<recovery::stream_position>& after);

// The claim script's reply: true when this process holds NODE_ID, false
// when another live one does; nullopt when it did not run.
std::optional<bool> read_claim(const redisReply* r) noexcept;

}  // namespace hf::broker::store
