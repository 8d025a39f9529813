// Fuzz target: what a Redis Cluster node sends a cluster client (it comes off
// the network): RESP bytes through hiredis's own reader, then the CLUSTER
// SLOTS map, MOVED/ASK redirects and the slot of any key. Properties: no
// crash; a map names a master (in range) for exactly the slots it covers; a
// redirect that parses reads back the same from its canonical spelling; a
// slot is below 16384 and a key with a hash tag hashes as its tag does.
#include <hiredis/hiredis.h>

#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "broker/cluster_slots.hpp"
#include "broker/resp_reader.hpp"

using namespace hf::broker::slots;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  if (key_slot(in) >= slot_count) std::abort();
  if (auto open = in.find('{'); open != std::string_view::npos) {
    auto close = in.find('}', open + 1);
    if (close != std::string_view::npos && close > open + 1 &&
        key_slot(in) != key_slot(in.substr(open + 1, close - open - 1)))
      std::abort();
  }
  if (auto r = parse_redirect(in)) {
    if (r->slot >= slot_count || r->to.port <= 0 || r->to.port > 65535) std::abort();
    std::string again =
        std::string(r->ask ? "ASK " : "MOVED ") + std::to_string(r->slot) + " " + to_string(r->to);
    auto back = parse_redirect(again);
    if (!back || back->slot != r->slot || back->ask != r->ask || !(back->to == r->to)) std::abort();
  }
  redisReader* reader = hf::broker::make_bounded_reader();
  redisReaderFeed(reader, in.data(), in.size());
  for (int i = 0; i < 4; ++i) {
    void* out = nullptr;
    if (redisReaderGetReply(reader, &out) != REDIS_OK || !out) break;
    auto* reply = static_cast<redisReply*>(out);
    if (auto m = slot_map::from_cluster_slots(reply, "fallback")) {
      bool all = true;
      for (std::size_t s = 0; s < slot_count; ++s) {
        auto o = m->owner(static_cast<std::uint16_t>(s));
        if (o != slot_map::none && o >= m->masters().size()) std::abort();
        if ((o == slot_map::none) != (m->master_of(static_cast<std::uint16_t>(s)) == nullptr))
          std::abort();
        all = all && o != slot_map::none;
      }
      if (all != m->complete()) std::abort();
      for (const auto& e : m->masters())
        if (e.host.empty() || e.port <= 0 || e.port > 65535) std::abort();
    }
    if (reply->type == REDIS_REPLY_ERROR)
      (void)parse_redirect(std::string_view(reply->str, reply->len));
    freeReplyObject(reply);
  }
  redisReaderFree(reader);
  return 0;
}
