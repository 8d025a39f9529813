// Fuzz target: the one-pass read of a publish body (protocol/publish_scan.hpp)
// against the DOM path. Whenever the scan accepts a body, the DOM path must
// accept it too, with the same userId, type, ackTimeoutMs and options, and
// the scan's payload text must be exactly what JSON.stringify writes for the
// DOM's payload (so an envelope is the same bytes whichever way it was made).
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "core/js_json.hpp"
#include "core/text.hpp"
#include "protocol/publish_request.hpp"
#include "protocol/publish_scan.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view body(reinterpret_cast<const char*>(data), size);
  if (!hf::core::valid_utf8(body) || body.starts_with("\xEF\xBB\xBF")) return 0;
  auto fast = hf::protocol::scan_publish(body);
  if (!fast) return 0;
  auto slow = hf::protocol::parse_publish_request_dom("application/json", body);
  if (!slow) std::abort();
  if (fast->user_id != slow->user_id || fast->type != slow->type ||
      fast->ack_timeout_ms != slow->ack_timeout_ms || !(fast->options == slow->options) ||
      !fast->user_ids.empty() || !slow->user_ids.empty() || fast->payload)
    std::abort();
  if (fast->payload_json.has_value() != slow->payload.has_value()) std::abort();
  if (slow->payload) {
    std::string canonical;
    hf::core::append_js_json(canonical, *slow->payload);
    if (canonical != *fast->payload_json) std::abort();
  }
  return 0;
}
