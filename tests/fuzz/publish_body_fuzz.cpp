// Fuzz target: the POST /publish body, and the envelope built from it: the
// envelope text must always be valid JSON carrying the same userId and type.
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "core/js_json.hpp"
#include "protocol/envelope.hpp"
#include "protocol/publish_request.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view body(reinterpret_cast<const char*>(data), size);
  auto req = hf::protocol::parse_publish_request("application/json", body);
  if (!req) return 0;
  std::string user = req->user_id, type = req->type;
  auto env = hf::protocol::make_envelope(req->type, req->user_id, std::move(req->payload),
                                         std::chrono::system_clock::time_point{});
  auto parsed = hf::core::parse_json(env.text);
  if (!parsed || !parsed->is_object()) std::abort();
  const auto& o = parsed->get_object();
  if (o.at("userId").as_string() != user || o.at("type").as_string() != type) std::abort();
  return 0;
}
