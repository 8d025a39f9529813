#include "protocol/publish_request.hpp"

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/string.hpp>
#include <cmath>
#include <unordered_set>

#include "core/js_json.hpp"
#include "core/text.hpp"
#include "protocol/publish_scan.hpp"

namespace hf::protocol {
namespace {

// Section 12's members, compared exactly: null, "ALL" or 1.5 are other values.
errc parse_options(const boost::json::object& obj, publish_options& o) {
  if (const boost::json::value* v = obj.if_contains("receipts")) {
    if (!v->is_bool()) return errc::invalid_receipts;
    o.receipts = v->get_bool();
  }
  if (const boost::json::value* v = obj.if_contains("until")) {
    if (const boost::json::string* s = v->if_string()) {
      if (*s == "first")
        o.until = 1;
      else if (*s != "all")
        return errc::invalid_until;
    } else {
      double n = core::json_number(*v).value_or(0);
      if (!(n >= 1) || n != std::floor(n)) return errc::invalid_until;
      o.until = n > 4294967295.0 ? 0 : static_cast<std::uint32_t>(n);
    }
  }
  if (const boost::json::value* v = obj.if_contains("cancel")) {
    if (!v->is_bool()) return errc::invalid_cancel;
    o.cancel = v->get_bool();
  }
  if (const boost::json::value* v = obj.if_contains("webhook")) {  // section 14
    if (!v->is_bool()) return errc::invalid_webhook;
    o.webhook = v->get_bool();
  }
  return errc::ok;
}

// Section 15's `userIds` (present in the body): trimmed, the first
// occurrence of each user kept, in order.
errc parse_user_ids(const boost::json::value& v, std::vector<std::string>& out) {
  const boost::json::array* list = v.if_array();
  if (!list || list->empty() || list->size() > max_user_ids) return errc::invalid_user_ids;
  // Views into the parsed body, which outlives this function; at most 1000.
  std::unordered_set<std::string_view> seen;
  seen.reserve(list->size());
  out.reserve(list->size());
  for (const boost::json::value& item : *list) {
    const boost::json::string* s = item.if_string();
    if (!s) return errc::invalid_user_ids;
    std::string_view user = core::js_trim(*s);
    if (user.empty()) return errc::invalid_user_ids;
    if (seen.insert(user).second) out.emplace_back(user);
  }
  return errc::ok;
}

}  // namespace

result<publish_request> parse_publish_request(std::optional<std::string_view> content_type,
                                              std::string_view body) {
  if (content_type && core::icontains(*content_type, "application/json") &&
      !body.starts_with("\xEF\xBB\xBF") && core::valid_utf8(body))
    if (auto scanned = scan_publish(body)) return std::move(*scanned);
  return parse_publish_request_dom(content_type, body);
}

result<publish_request> parse_publish_request_dom(std::optional<std::string_view> content_type,
                                                  std::string_view body) {
  if (!content_type || !core::icontains(*content_type, "application/json"))
    return errc::unsupported_media_type;

  bool changed = false;
  std::string decoded;
  std::string_view text = body;
  if (!core::valid_utf8(body) || body.starts_with("\xEF\xBB\xBF")) {
    decoded = core::whatwg_utf8_decode(body, changed);
    text = decoded;
  }
  auto parsed = core::parse_json(text);
  if (!parsed) return errc::invalid_json_body;

  boost::json::object* obj = parsed->if_object();
  if (!obj) return errc::user_id_required;  // null, arrays, numbers, strings, booleans
  publish_request req;
  if (const boost::json::value* many = obj->if_contains("userIds")) {
    // Section 15: both members, even `"userId":null`, name no one target.
    if (obj->contains("userId")) return errc::invalid_user_ids;
    if (auto e = parse_user_ids(*many, req.user_ids); e != errc::ok) return e;
  } else {
    auto user = core::trimmed_string_member(*obj, "userId");
    if (!user) return errc::user_id_required;
    req.user_id.assign(*user);
  }
  req.type = core::trimmed_string_member(*obj, "type").value_or("message");
  if (const boost::json::value* ms = obj->if_contains("ackTimeoutMs")) {
    double v = core::json_number(*ms).value_or(-1);
    if (!(v >= 0)) return errc::invalid_ack_timeout;
    req.ack_timeout_ms = v > 1e15 ? std::int64_t{1'000'000'000'000'000} : std::llround(v);
  }
  if (auto e = parse_options(*obj, req.options); e != errc::ok) return e;
  if (auto it = obj->find("payload"); it != obj->end()) req.payload = std::move(it->value());
  return req;
}

std::string serialize_publish_answer(std::size_t client_count,
                                     const std::vector<std::string>& results, std::size_t dropped,
                                     const std::vector<receipt>* devices) {
  std::size_t size = 40;
  for (const auto& r : results) size += r.size() + 1;
  std::string out;
  out.reserve(size);
  out.append(R"({"clientCount":)");
  out.append(std::to_string(client_count));
  out.append(R"(,"results":[)");
  for (std::size_t i = 0; i < results.size(); ++i) {
    if (i) out.push_back(',');
    out.append(results[i]);
  }
  out.push_back(']');
  if (devices) append_devices(out, *devices);
  if (dropped) {
    out.append(R"(,"resultsDropped":)");
    out.append(std::to_string(dropped));
  }
  out.push_back('}');
  return out;
}

std::string serialize_error(std::string_view message) {
  std::string out = R"({"error":)";
  core::append_js_string(out, message);
  out.push_back('}');
  return out;
}

}  // namespace hf::protocol
