// Fuzz target: the messages nodes exchange through Redis (they come off the
// network), sections 11-13's included. Properties: decoding never crashes; every message has one
// spelling, so whatever decodes re-encodes to the same bytes; and a message
// built from arbitrary parts decodes back to those parts.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "broker/cluster_wire.hpp"
#include "broker/device_wire.hpp"
#include "protocol/envelope.hpp"

using namespace hf::broker::wire;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  if (auto m = decode_publish(in)) {
    if (encode(*m) != in) std::abort();
    (void)hf::protocol::parse_envelope(m->envelope);
  }
  if (auto a = decode_answer(in)) {
    if (encode(*a) != in) std::abort();
    if (a->results.size() + a->dropped > a->count) std::abort();
  }
  // Sections 11-13 (broker/device_wire.hpp) and the end of a publish.
  if (auto d = decode_device_opened(in); d && encode(*d) != in) std::abort();
  if (auto q = decode_roster_query(in); q && encode(*q) != in) std::abort();
  if (auto r = decode_roster_answer(in); r && encode(*r) != in) std::abort();
  if (auto e = decode_end(in); e && encode_end(*e) != in) std::abort();
  // Build messages from the input's pieces: split at the first two bytes'
  // values into results (non-empty) and an envelope.
  if (size >= 2) {
    node_answer built{
        "inc",        data[0], "env-" + std::to_string(data[1]), std::uint64_t(data[1]) + 8,
        data[0] % 4u, {}};
    std::string_view rest = in.substr(2);
    while (!rest.empty() && built.results.size() + built.dropped < built.count) {
      std::size_t n =
          std::min<std::size_t>(rest.size(), 1 + static_cast<unsigned char>(rest[0]) % 16);
      built.results.emplace_back(rest.substr(0, n));
      rest.remove_prefix(n);
    }
    if (decode_answer(encode(built)) != built) std::abort();
    publish_message p{
        "node-" + std::to_string(data[0]),  "inc-" + std::to_string(data[1]), data[1],        5000,
        "epoch-" + std::to_string(data[0]), std::uint64_t(data[1]) + 1,       std::string(in)};
    if (decode_publish(encode(p)) != p) std::abort();
  }
  return 0;
}
