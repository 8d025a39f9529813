// Fuzz target: a client text message, parsed and applied to a socket's filter
// set as the hub would, then matched against a payload. The ack fast path
// must agree with the general parser whenever it accepts a message.
#include <cstdint>
#include <cstdlib>
#include <string_view>
#include <variant>

#include "core/js_json.hpp"
#include "protocol/client_message.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  hf::protocol::filter_set set;
  auto msg = hf::protocol::parse_client_message(text);
  if (auto* s = std::get_if<hf::protocol::subscribe_message>(&msg)) {
    if (s->filters.size() > hf::protocol::max_filters_per_message) std::abort();
    set.add(s->filters, 10);
    if (set.size() > 10) std::abort();
    set.remove(s->filters);
    if (!set.empty()) std::abort();  // removing what was added leaves nothing
  } else if (auto* a = std::get_if<hf::protocol::ack_message>(&msg)) {
    if (!hf::core::parse_json(a->result_json)) std::abort();  // results are valid JSON
  }
  if (auto fast = hf::protocol::scan_ack(text)) {
    auto general = hf::protocol::parse_client_message_general(text);
    auto* g = std::get_if<hf::protocol::ack_message>(&general);
    if (!g || g->envelope_id() != fast->envelope_id() || g->result_json != fast->result_json)
      std::abort();
  }
  return 0;
}
