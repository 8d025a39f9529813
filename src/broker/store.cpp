#include "broker/store.hpp"

#include <hiredis/hiredis.h>
#include <openssl/sha.h>

#include "broker/lua/scripts.hpp"
#include "core/hex.hpp"

namespace hf::broker::store {
namespace {

std::string ms(std::chrono::milliseconds d) { return std::to_string(d.count()); }

std::string_view str(const redisReply* r) noexcept {
  return r && r->type == REDIS_REPLY_STRING ? std::string_view(r->str, r->len) : std::string_view{};
}

// The stream scripts start with the epoch functions they share.
std::string with_epoch(std::string_view body) {
  std::string s(lua::epoch);
  s.append(body);
  return s;
}

}  // namespace

script::script(std::string source) : text(std::move(source)) {
  unsigned char md[SHA_DIGEST_LENGTH];
  SHA1(reinterpret_cast<const unsigned char*>(text.data()), text.size(), md);
  for (unsigned char c : md) core::append_hex(sha, c);
}

const script& publish_script() {
  static const script s(with_epoch(lua::publish));
  return s;
}
const script& read_script() {
  static const script s(with_epoch(lua::read));
  return s;
}
const script& renew_script() {
  static const script s(with_epoch(lua::renew));
  return s;
}
const script& claim_script() {
  static const script s{std::string(lua::claim)};
  return s;
}
const script& webhook_keep_script() {
  static const script s{std::string(lua::webhook_keep)};
  return s;
}

const script& release_script() {
  static const script s{std::string(lua::release)};
  return s;
}

std::vector<std::string> call::argv(bool by_text) const {
  std::vector<std::string> v;
  v.reserve(args.size() + 2);
  v.emplace_back(by_text ? "EVAL" : "EVALSHA");
  v.push_back(by_text ? s->text : s->sha);
  v.insert(v.end(), args.begin(), args.end());
  return v;
}

call commands::publish(std::string_view user, std::string head, std::string_view envelope,
                       std::string new_epoch) const {
  return {&publish_script(),
          {"2", names_.meta_key(user), names_.stream_key(user), names_.user_channel(user),
           std::move(head), std::string(envelope), std::move(new_epoch),
           std::to_string(bounds_.history_size), ms(bounds_.history_ttl), ms(meta_ttl),
           names_.sharded ? "1" : "0", std::to_string(bounds_.history_max_bytes)}};
}

call commands::read(std::string_view user, const std::optional<recovery::stream_position>& after,
                    std::string new_epoch) const {
  return {&read_script(),
          {"2", names_.meta_key(user), names_.stream_key(user), std::move(new_epoch), ms(meta_ttl),
           after ? std::to_string(after->offset) : std::string(),
           after ? after->epoch : std::string(), names_.sharded ? "1" : "0",
           std::to_string(bounds_.history_size), std::to_string(bounds_.read_max_bytes)}};
}

call commands::renew(std::string_view user, std::string new_epoch) const {
  return {&renew_script(),
          {"2", names_.meta_key(user), names_.stream_key(user), std::move(new_epoch), ms(meta_ttl),
           names_.sharded ? "1" : "0"}};
}

call commands::claim(std::string_view node_id, std::string_view incarnation) const {
  return {&claim_script(),
          {"1", "hf:node:" + std::string(node_id), std::string(incarnation), ms(claim_ttl)}};
}

call commands::release(std::string_view node_id, std::string_view incarnation) const {
  return {&release_script(), {"1", "hf:node:" + std::string(node_id), std::string(incarnation)}};
}

std::vector<std::string> commands::answer(const wire::node_answer& a, std::string_view node,
                                          std::string_view incarnation) const {
  return {names_.sharded ? "SPUBLISH" : "PUBLISH", wire::reply_channel(node, incarnation),
          wire::encode(a)};
}

bool refused_before_run(std::string_view err) noexcept {
  for (std::string_view prefix : {"MOVED ", "ASK ", "TRYAGAIN", "CLUSTERDOWN", "MASTERDOWN",
                                  "LOADING", "NOSCRIPT", "CROSSSLOT", "READONLY"})
    if (err.starts_with(prefix)) return true;
  return false;
}

std::string_view error_of(const redisReply* r) noexcept {
  return r && r->type == REDIS_REPLY_ERROR ? std::string_view(r->str, r->len) : std::string_view{};
}

publish_outcome read_publish(const redisReply* r) noexcept {
  if (r && r->type == REDIS_REPLY_ERROR && refused_before_run(error_of(r)))
    return {publish_outcome::refused, 0};
  if (!r || r->type != REDIS_REPLY_INTEGER || r->integer < 0) return {publish_outcome::lost, 0};
  return {publish_outcome::counted, static_cast<std::size_t>(r->integer)};
}

recovery::stream_view read_stream(const redisReply* r,
                                  const std::optional<recovery::stream_position>& after) {
  recovery::stream_view v;
  if (!r || r->type != REDIS_REPLY_ARRAY || r->elements < 2 ||
      r->element[0]->type != REDIS_REPLY_STRING || r->element[1]->type != REDIS_REPLY_INTEGER ||
      r->element[1]->integer < 0)
    return v;
  v.epoch = std::string(str(r->element[0]));
  v.latest = static_cast<std::uint64_t>(r->element[1]->integer);
  bool same_epoch = after && after->epoch == v.epoch;
  for (std::size_t i = 2; i + 1 < r->elements; i += 2) {
    auto offset = wire::offset_of_entry(str(r->element[i]));
    auto env = offset ? protocol::parse_envelope(str(r->element[i + 1])) : std::nullopt;
    // Entries come in offset order (XRANGE); anything else is no stream.
    if (!env || (!v.records.empty() && *offset <= v.records.back().offset)) return {};
    env->epoch = v.epoch;
    env->offset = *offset;
    v.records.push_back(
        {std::make_shared<const protocol::envelope>(std::move(*env)), v.epoch, *offset});
  }
  if (same_epoch) {
    v.complete = v.records.empty() ? after->offset == v.latest
                                   : v.records.front().offset == after->offset + 1 &&
                                         v.records.back().offset == v.latest &&
                                         v.records.size() == v.latest - after->offset;
  }
  v.ok = true;
  return v;
}

std::optional<bool> read_claim(const redisReply* r) noexcept {
  if (!r || r->type != REDIS_REPLY_INTEGER) return std::nullopt;
  return r->integer != 0;
}

}  // namespace hf::broker::store
