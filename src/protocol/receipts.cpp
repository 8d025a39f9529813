#include "protocol/receipts.hpp"

#include <algorithm>
#include <chrono>

#include "core/js_json.hpp"
#include "protocol/envelope.hpp"

namespace hf::protocol {

bool valid_device(std::string_view s) noexcept {
  if (s.empty() || s.size() > 64) return false;
  return std::all_of(s.begin(), s.end(), [](char c) { return c >= '!' && c <= '~'; });
}

void order_receipts(std::vector<receipt>& r) {
  std::stable_sort(r.begin(), r.end(), [](const receipt& a, const receipt& b) {
    if (a.state != b.state) return a.state < b.state;
    return a.state == receipt_state::acked && a.ack_ms < b.ack_ms;
  });
}

namespace {
void append_device(std::string& out, const std::optional<std::string>& d) {
  out.append(R"({"device":)");
  if (d)
    core::append_js_string(out, *d);
  else
    out.append("null");
}
}  // namespace

void append_devices(std::string& out, const std::vector<receipt>& r) {
  static constexpr std::string_view states[] = {"acked", "pending", "gone"};
  out.append(R"(,"devices":[)");
  for (std::size_t i = 0; i < r.size(); ++i) {
    if (i) out.push_back(',');
    append_device(out, r[i].device);
    out.append(R"(,"state":")");
    out.append(states[static_cast<std::size_t>(r[i].state)]);
    out.push_back('"');
    if (r[i].state == receipt_state::acked) {
      if (r[i].result) {
        out.append(R"(,"result":)");
        out.append(*r[i].result);
      }
      out.append(R"(,"ackMs":)");
      out.append(std::to_string(r[i].ack_ms));
    }
    out.push_back('}');
  }
  out.push_back(']');
}

std::string serialize_cancel(std::string_view envelope_id) {
  std::string out = R"({"type":"cancel","envelopeId":)";
  core::append_js_string(out, envelope_id);
  out.push_back('}');
  return out;
}

std::string serialize_roster(std::string_view user_id, std::vector<roster_entry> entries) {
  std::sort(entries.begin(), entries.end(), [](const roster_entry& a, const roster_entry& b) {
    if (a.since_ms != b.since_ms) return a.since_ms < b.since_ms;
    return a.device < b.device;  // nullopt first, then byte order
  });
  std::string out = R"({"userId":)";
  core::append_js_string(out, user_id);
  out.append(R"(,"devices":[)");
  for (std::size_t i = 0; i < entries.size(); ++i) {
    if (i) out.push_back(',');
    append_device(out, entries[i].device);
    out.append(R"(,"since":")");
    out.append(format_iso_timestamp(
        std::chrono::system_clock::time_point(std::chrono::milliseconds(entries[i].since_ms))));
    out.append(R"("})");
  }
  out.append("]}");
  return out;
}

}  // namespace hf::protocol
