#include "protocol/client_message.hpp"

#include <algorithm>
#include <boost/json/monotonic_resource.hpp>
#include <boost/json/object.hpp>
#include <boost/json/string.hpp>
#include <cmath>

#include "core/js_json.hpp"
#include "core/text.hpp"

namespace hf::protocol {

bool is_ping(std::string_view text) noexcept { return core::iequals(core::js_trim(text), "ping"); }

namespace {

// A JSON string body with nothing to unescape and nothing JSON.stringify
// would escape: no quote, no backslash, no control character.
bool plain_string_body(std::string_view s) {
  for (char ch : s)
    if (ch == '"' || ch == '\\' || static_cast<unsigned char>(ch) < 0x20) return false;
  return true;
}

// A `result` value whose text is already what JSON.stringify would print:
// null, true, false, an integer of at most 15 digits (exact in a double; not
// -0), or a plain string. Anything else takes the general path.
bool canonical_scalar(std::string_view v) {
  if (v == "null" || v == "true" || v == "false") return true;
  if (v.size() >= 2 && v.front() == '"' && v.back() == '"')
    return plain_string_body(v.substr(1, v.size() - 2));
  std::string_view digits = v.starts_with('-') ? v.substr(1) : v;
  if (digits.empty() || digits.size() > 15) return false;
  if (digits[0] == '0' && (digits.size() > 1 || v.starts_with('-'))) return false;
  for (char ch : digits)
    if (ch < '0' || ch > '9') return false;
  return true;
}

}  // namespace

// The shape every client library writes an ack in (JSON.stringify of
// {type, envelopeId, result}), read without building a JSON value: the same
// answer as the general path (checked by the client_message fuzz target),
// or nullopt for anything else.
std::optional<ack_message> scan_ack(std::string_view text) {
  static constexpr std::string_view head = R"({"type":"ack","envelopeId":")";
  if (!text.starts_with(head) || !text.ends_with('}')) return std::nullopt;
  text.remove_prefix(head.size());
  std::size_t quote = text.find('"');
  if (quote == std::string_view::npos || quote > ack_message::max_id) return std::nullopt;
  std::string_view id = text.substr(0, quote);
  if (!plain_string_body(id) || !core::valid_utf8(id)) return std::nullopt;
  text.remove_prefix(quote + 1);
  std::string_view result = "null";
  if (text != "}") {
    static constexpr std::string_view key = R"(,"result":)";
    if (!text.starts_with(key)) return std::nullopt;
    result = text.substr(key.size(), text.size() - key.size() - 1);
    if (!canonical_scalar(result) || !core::valid_utf8(result)) return std::nullopt;
  }
  ack_message ack;
  std::copy(id.begin(), id.end(), ack.id.begin());
  ack.id_size = static_cast<std::uint8_t>(id.size());
  ack.result_json.assign(result);
  return ack;
}

client_message parse_client_message(std::string_view text) {
  if (auto ack = scan_ack(text)) return std::move(*ack);
  return parse_client_message_general(text);
}

client_message parse_client_message_general(std::string_view text) {
  if (is_ping(text)) return ping_message{};
  // Client messages are short and short-lived: parse into a stack arena.
  unsigned char arena[4096];
  boost::json::monotonic_resource mr(arena, sizeof arena);
  auto v = core::parse_json(text, &mr);
  if (!v) return ignored_message{};
  const boost::json::object* obj = v->if_object();
  if (!obj) return ignored_message{};
  const boost::json::value* type = obj->if_contains("type");
  if (!type || !type->is_string()) return ignored_message{};
  std::string_view t = type->get_string();
  if (t == "subscribe" || t == "unsubscribe") {
    const boost::json::value* filters = obj->if_contains("filters");
    if (!filters || !filters->is_array()) return ignored_message{};
    auto kept = normalize_filters(*filters);
    if (t == "subscribe") return subscribe_message{std::move(kept)};
    return unsubscribe_message{std::move(kept)};
  }
  if (t == "ack") {
    const boost::json::value* id = obj->if_contains("envelopeId");
    if (!id || !id->is_string()) return ignored_message{};
    std::string_view id_text = id->get_string();
    if (id_text.size() > ack_message::max_id) return ignored_message{};
    ack_message ack;
    std::copy(id_text.begin(), id_text.end(), ack.id.begin());
    ack.id_size = static_cast<std::uint8_t>(id_text.size());
    if (const boost::json::value* r = obj->if_contains("result"))
      core::append_js_json(ack.result_json, *r);
    else
      ack.result_json = "null";
    return ack;
  }
  if (t == "refresh") {
    const boost::json::value* token = obj->if_contains("token");
    refresh_message r;
    if (token && token->is_string()) r.token = std::string(token->get_string());
    return r;
  }
  if (t == "recover") {
    const boost::json::value* epoch = obj->if_contains("epoch");
    const boost::json::value* offset = obj->if_contains("offset");
    recover_message r;
    if (!epoch && !offset) return r;
    // Both or neither: a position needs its epoch, and an epoch its offset.
    if (!epoch || !offset || !epoch->is_string()) return ignored_message{};
    auto n = core::json_number(*offset);
    // A non-negative integer that a double holds exactly (JavaScript's range).
    if (!n || *n < 0 || *n != std::floor(*n) || *n > 9007199254740991.0) return ignored_message{};
    r.from =
        recover_message::position{std::string(epoch->get_string()), static_cast<std::uint64_t>(*n)};
    return r;
  }
  return ignored_message{};
}

std::string serialize_recovered(std::string_view epoch, std::uint64_t latest, bool recovered) {
  std::string out = R"({"type":"recovered","epoch":)";
  core::append_js_string(out, epoch);
  out.append(R"(,"offset":)");
  out.append(std::to_string(latest));
  out.append(recovered ? R"(,"recovered":true})" : R"(,"recovered":false})");
  return out;
}

std::string serialize_refreshed(std::optional<std::int64_t> exp) {
  return R"({"type":"refreshed","exp":)" + (exp ? std::to_string(*exp) : std::string("null")) + "}";
}

std::string serialize_refresh_failed(std::string_view reason) {
  std::string out = R"({"type":"refresh_failed","reason":)";
  core::append_js_string(out, reason);
  out.push_back('}');
  return out;
}

std::string with_offset(std::string_view text, std::uint64_t offset) {
  std::string out;
  out.reserve(text.size() + 32);
  out.append(text.substr(0, text.size() - 1));  // without the closing brace
  out.append(R"(,"offset":)");
  out.append(std::to_string(offset));
  out.push_back('}');
  return out;
}

std::string serialize_filters_refused(std::size_t limit, std::size_t refused) {
  return R"({"type":"filters_refused","limit":)" + std::to_string(limit) + R"(,"refused":)" +
         std::to_string(refused) + "}";
}

}  // namespace hf::protocol
