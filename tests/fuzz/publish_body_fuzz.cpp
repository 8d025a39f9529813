// Fuzz target: the POST /publish body, and the envelope built from it: the
// envelope text must always be valid JSON carrying the same userId and type.
// Section 15: an accepted `userIds` has 1 to 1000 distinct users, each
// trimmed and non-blank, and never comes with `userId`; the many-users
// answer built for them is JSON with one entry per user, in their order.
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <set>
#include <string_view>

#include "core/js_json.hpp"
#include "core/text.hpp"
#include "protocol/envelope.hpp"
#include "protocol/publish_request.hpp"
#include "protocol/users_answer.hpp"

namespace {

void check_envelope(const std::string& type, const std::string& user,
                    std::optional<boost::json::value> payload,
                    const std::optional<std::string>& payload_json) {
  auto env = payload_json ? hf::protocol::make_envelope_from_json(
                                type, user, std::string_view(*payload_json),
                                std::chrono::system_clock::time_point{})
                          : hf::protocol::make_envelope(type, user, std::move(payload),
                                                        std::chrono::system_clock::time_point{});
  auto parsed = hf::core::parse_json(env.text);
  if (!parsed || !parsed->is_object()) std::abort();
  const auto& o = parsed->get_object();
  if (o.at("userId").as_string() != user || o.at("type").as_string() != type) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view body(reinterpret_cast<const char*>(data), size);
  auto req = hf::protocol::parse_publish_request("application/json", body);
  if (!req) return 0;
  if (req->user_ids.empty()) {
    if (req->user_id.empty()) std::abort();
    check_envelope(req->type, req->user_id, std::move(req->payload), req->payload_json);
    return 0;
  }
  const auto& users = req->user_ids;
  if (!req->user_id.empty() || users.size() > hf::protocol::max_user_ids) std::abort();
  std::set<std::string_view> distinct;
  std::vector<hf::protocol::user_answer> answers;
  for (const auto& u : users) {
    if (u.empty() || hf::core::js_trim(u) != u || !distinct.insert(u).second) std::abort();
    check_envelope(req->type, u, req->payload, req->payload_json);
    answers.push_back({.user_id = u, .envelope_id = "e"});
  }
  auto answer = hf::core::parse_json(hf::protocol::serialize_users_answer(answers, true));
  if (!answer || answer->as_object().at("users").as_object().size() != users.size()) std::abort();
  std::size_t i = 0;
  for (const auto& [key, value] : answer->as_object().at("users").as_object())
    if (key != users[i++]) std::abort();
  return 0;
}
