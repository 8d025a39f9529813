#include "protocol/webhook.hpp"

#include <algorithm>

#include "auth/jwt.hpp"
#include "core/hex.hpp"
#include "core/js_json.hpp"

namespace hf::protocol {
namespace {

void append_head(std::string& out, std::string_view id, std::string_view event) {
  out.append(R"({"id":)");
  core::append_js_string(out, id);
  out.append(R"(,"event":")").append(event).push_back('"');
}

}  // namespace

std::string serialize_unacked(std::string_view id, std::string_view envelope_json,
                              std::size_t client_count, const std::vector<receipt>& devices) {
  std::string out;
  out.reserve(96 + envelope_json.size() + devices.size() * 48);
  append_head(out, id, "unacked");
  out.append(R"(,"envelope":)").append(envelope_json);
  out.append(R"(,"clientCount":)").append(std::to_string(client_count));
  append_devices(out, devices);  // `,"devices":[...]`
  out.push_back('}');
  return out;
}

std::string serialize_late_ack(std::string_view id, const late_ack& a) {
  std::string out;
  out.reserve(160 + a.user_id.size() + a.result_json.size());
  append_head(out, id, "late_ack");
  out.append(R"(,"envelopeId":)");
  core::append_js_string(out, a.envelope_id);
  out.append(R"(,"userId":)");
  core::append_js_string(out, a.user_id);
  out.append(R"(,"device":)");
  if (a.device)
    core::append_js_string(out, *a.device);
  else
    out.append("null");
  out.append(R"(,"result":)").append(a.result_json);
  out.append(R"(,"ackMs":)").append(std::to_string(a.ack_ms));
  out.push_back('}');
  return out;
}

std::string webhook_signature(std::string_view secret, std::int64_t t, std::string_view body) {
  std::string stamp = std::to_string(t);
  std::string signed_text;
  signed_text.reserve(stamp.size() + 1 + body.size());
  signed_text.append(stamp).append(".").append(body);
  std::string mac = auth::hmac_sha256(secret, signed_text);
  std::string out = "t=" + stamp + ",v1=";
  for (unsigned char b : mac) core::append_hex(out, b);
  return out;
}

std::chrono::milliseconds webhook_retry_delay(unsigned failures) noexcept {
  using std::chrono::milliseconds;
  constexpr milliseconds cap = std::chrono::seconds(60);
  milliseconds delay = std::chrono::seconds(1);
  for (unsigned i = 1; i < failures && delay < cap; ++i) delay *= 2;
  return std::min(delay, cap);
}

}  // namespace hf::protocol
