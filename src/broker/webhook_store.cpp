#include "broker/webhook_store.hpp"

#include <hiredis/hiredis.h>

#include <charconv>

namespace hf::broker::webhook_store {
namespace {

std::string_view text_of(const redisReply* r) {
  if (!r || (r->type != REDIS_REPLY_STRING && r->type != REDIS_REPLY_STATUS)) return {};
  return {r->str, r->len};
}

// One entry, [ref, [field, value, ...]]; nullopt without an event's fields.
std::optional<stored_event> read_entry(const redisReply* r) {
  if (!r || r->type != REDIS_REPLY_ARRAY || r->elements != 2) return std::nullopt;
  std::string_view ref = text_of(r->element[0]);
  const redisReply* fields = r->element[1];
  if (ref.empty() || !fields || fields->type != REDIS_REPLY_ARRAY) return std::nullopt;
  stored_event e;
  e.ref = ref;
  bool id = false, body = false, made = false;
  for (std::size_t i = 0; i + 1 < fields->elements; i += 2) {
    std::string_view name = text_of(fields->element[i]);
    std::string_view value = text_of(fields->element[i + 1]);
    if (name == "i" && !value.empty()) {
      e.id = value;
      id = true;
    } else if (name == "b") {
      e.body = value;
      body = true;
    } else if (name == "t") {
      auto [p, ec] = std::from_chars(value.data(), value.data() + value.size(), e.made_ms);
      made = ec == std::errc() && p == value.data() + value.size();
    }
  }
  if (!id || !body || !made) return std::nullopt;
  return e;
}

void read_entries(const redisReply* r, std::vector<stored_event>& out) {
  if (!r || r->type != REDIS_REPLY_ARRAY) return;
  for (std::size_t i = 0; i < r->elements; ++i)
    if (auto e = read_entry(r->element[i])) out.push_back(std::move(*e));
}

}  // namespace

std::string consumer_name(std::string_view node_id, std::string_view incarnation) {
  std::string out(node_id);
  out.append(":").append(incarnation);
  return out;
}

store::call keep(std::string_view consumer, const stored_event& e) {
  return {&store::webhook_keep_script(),
          {"1", std::string(stream_key), std::string(group), std::string(consumer),
           std::to_string(max_entries), e.id, e.body, std::to_string(e.made_ms)}};
}

std::vector<std::string> forget_ack(const std::vector<std::string>& refs) {
  std::vector<std::string> v{"XACK", std::string(stream_key), std::string(group)};
  v.insert(v.end(), refs.begin(), refs.end());
  return v;
}

std::vector<std::string> forget_del(const std::vector<std::string>& refs) {
  std::vector<std::string> v{"XDEL", std::string(stream_key)};
  v.insert(v.end(), refs.begin(), refs.end());
  return v;
}

std::vector<std::string> hold(std::string_view consumer, const std::vector<std::string>& refs) {
  std::vector<std::string> v{"XCLAIM", std::string(stream_key), std::string(group),
                             std::string(consumer), "0"};
  v.insert(v.end(), refs.begin(), refs.end());
  v.emplace_back("JUSTID");
  return v;
}

std::vector<std::string> adopt(std::string_view consumer, std::chrono::milliseconds idle,
                               std::string_view cursor, std::size_t count) {
  return {"XAUTOCLAIM",
          std::string(stream_key),
          std::string(group),
          std::string(consumer),
          std::to_string(idle.count()),
          std::string(cursor),
          "COUNT",
          std::to_string(count)};
}

std::optional<std::vector<std::string>> read_held(const redisReply* r) {
  // No group (Redis restarted empty): nothing is held any more, and every
  // event is kept again (the keep script makes the group).
  if (r && r->type == REDIS_REPLY_ERROR && std::string_view(r->str, r->len).starts_with("NOGROUP"))
    return std::vector<std::string>{};
  if (!r || r->type != REDIS_REPLY_ARRAY) return std::nullopt;
  std::vector<std::string> out;
  for (std::size_t i = 0; i < r->elements; ++i) {
    std::string_view ref = text_of(r->element[i]);
    if (!ref.empty()) out.emplace_back(ref);
  }
  return out;
}

kept read_kept(const redisReply* r) {
  kept out;
  if (!r || r->type != REDIS_REPLY_ARRAY || r->elements != 2) return out;
  std::string_view ref = text_of(r->element[0]);
  if (ref.empty()) return out;
  out.ref = std::string(ref);
  // [[stream, [entries]]]
  const redisReply* streams = r->element[1];
  if (streams && streams->type == REDIS_REPLY_ARRAY)
    for (std::size_t i = 0; i < streams->elements; ++i) {
      const redisReply* s = streams->element[i];
      if (s && s->type == REDIS_REPLY_ARRAY && s->elements == 2)
        read_entries(s->element[1], out.found);
    }
  std::erase_if(out.found, [&](const stored_event& e) { return e.ref == *out.ref; });
  return out;
}

std::optional<adopted> read_adopted(const redisReply* r) {
  if (!r || r->type != REDIS_REPLY_ARRAY || r->elements < 2) return std::nullopt;
  std::string_view cursor = text_of(r->element[0]);
  if (cursor.empty()) return std::nullopt;
  adopted out;
  out.cursor = cursor;
  read_entries(r->element[1], out.events);
  return out;
}

}  // namespace hf::broker::webhook_store
