#include "protocol/publish_request.hpp"

#include <boost/json/object.hpp>
#include <boost/json/string.hpp>
#include <cmath>

#include "core/js_json.hpp"
#include "core/text.hpp"

namespace hf::protocol {

result<publish_request> parse_publish_request(std::optional<std::string_view> content_type,
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
  auto user = core::trimmed_string_member(*obj, "userId");
  if (!user) return errc::user_id_required;

  publish_request req;
  req.user_id.assign(*user);
  req.type = core::trimmed_string_member(*obj, "type").value_or("message");
  if (const boost::json::value* ms = obj->if_contains("ackTimeoutMs")) {
    double v = core::json_number(*ms).value_or(-1);
    if (!(v >= 0)) return errc::invalid_ack_timeout;
    req.ack_timeout_ms = v > 1e15 ? std::int64_t{1'000'000'000'000'000} : std::llround(v);
  }
  if (auto it = obj->find("payload"); it != obj->end()) req.payload = std::move(it->value());
  return req;
}

std::string serialize_publish_answer(std::size_t client_count,
                                     const std::vector<std::string>& results, std::size_t dropped) {
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
