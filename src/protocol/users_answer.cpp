#include "protocol/users_answer.hpp"

#include "core/js_json.hpp"

namespace hf::protocol {
namespace {

void append_results(std::string& out, const std::vector<std::string>& results, bool& first) {
  for (const auto& r : results) {
    if (!first) out.push_back(',');
    first = false;
    out.append(r);
  }
}

}  // namespace

std::string serialize_users_answer(const std::vector<user_answer>& users, bool receipts) {
  // Every result is written twice (top level and its user's entry); the
  // rest is a guess that makes one allocation enough for most answers.
  std::size_t size = 64, client_count = 0, dropped = 0;
  for (const auto& u : users) {
    size += 96 + u.user_id.size() + 48 * u.devices.size();
    for (const auto& r : u.results) size += 2 * (r.size() + 1);
    client_count += u.client_count;
    dropped += u.dropped;
  }
  std::string out;
  out.reserve(size);
  out.append(R"({"clientCount":)");
  out.append(std::to_string(client_count));
  out.append(R"(,"results":[)");
  bool first = true;
  for (const auto& u : users) append_results(out, u.results, first);
  out.append(R"(],"users":{)");
  for (std::size_t i = 0; i < users.size(); ++i) {
    const user_answer& u = users[i];
    if (i) out.push_back(',');
    core::append_js_string(out, u.user_id);
    out.append(R"(:{"clientCount":)");
    out.append(std::to_string(u.client_count));
    out.append(R"(,"results":[)");
    bool none = true;
    append_results(out, u.results, none);
    out.push_back(']');
    if (receipts) append_devices(out, u.devices);
    if (u.dropped) {
      out.append(R"(,"resultsDropped":)");
      out.append(std::to_string(u.dropped));
    }
    out.append(R"(,"envelopeId":)");
    core::append_js_string(out, u.envelope_id);
    out.push_back('}');
  }
  out.push_back('}');
  if (dropped) {
    out.append(R"(,"resultsDropped":)");
    out.append(std::to_string(dropped));
  }
  out.push_back('}');
  return out;
}

}  // namespace hf::protocol
