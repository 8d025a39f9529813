// Fuzz target: what Redis answers the store's scripts (it comes off the
// network): RESP bytes through the links' bounded reader, then
// store::read_stream, read_publish and read_claim. Properties: no crash; a
// stream view that is ok has strictly ascending offsets, each record
// numbered in the view's epoch; a complete view runs without a gap from
// the position after the one asked to the latest; a counted publish came
// from a non-negative integer; the webhook outbox's readers
// (broker/webhook_store.hpp) give only events with a ref and an id, and a
// kept entry is never among the ones found with it.
#include <hiredis/hiredis.h>

#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "broker/resp_reader.hpp"
#include "broker/store.hpp"
#include "broker/webhook_store.hpp"

using namespace hf::broker;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2) return 0;
  // The first two bytes choose the position asked about.
  std::optional<hf::recovery::stream_position> after;
  if (data[0] & 1) after = hf::recovery::stream_position{(data[0] & 2) ? "ep" : "x", data[1]};
  std::string_view in(reinterpret_cast<const char*>(data) + 2, size - 2);
  redisReader* reader = make_bounded_reader();
  redisReaderFeed(reader, in.data(), in.size());
  for (int i = 0; i < 4; ++i) {
    void* out = nullptr;
    if (redisReaderGetReply(reader, &out) != REDIS_OK || !out) break;
    auto* r = static_cast<redisReply*>(out);
    auto v = store::read_stream(r, after);
    if (v.ok) {
      for (std::size_t k = 0; k < v.records.size(); ++k) {
        const auto& n = v.records[k];
        if (n.epoch != v.epoch || !n.env || n.env->offset != n.offset || n.env->epoch != v.epoch)
          std::abort();
        if (k && n.offset <= v.records[k - 1].offset) std::abort();
      }
      if (v.complete) {
        if (!after || after->epoch != v.epoch) std::abort();
        std::uint64_t expect = after->offset;
        for (const auto& n : v.records)
          if (n.offset != ++expect) std::abort();
        if (expect != v.latest) std::abort();
      }
    } else if (v.complete || !v.records.empty()) {
      std::abort();
    }
    auto p = store::read_publish(r);
    if (p.kind == store::publish_outcome::counted &&
        (r->type != REDIS_REPLY_INTEGER || r->integer < 0 ||
         p.receivers != std::size_t(r->integer)))
      std::abort();
    if (store::read_claim(r) && r->type != REDIS_REPLY_INTEGER) std::abort();
    auto kept = webhook_store::read_kept(r);
    if (!kept.ref && !kept.found.empty()) std::abort();
    for (const auto& e : kept.found)
      if (e.ref.empty() || e.id.empty() || e.ref == *kept.ref) std::abort();
    if (auto held = webhook_store::read_held(r))
      for (const auto& ref : *held)
        if (ref.empty()) std::abort();
    if (auto adopted = webhook_store::read_adopted(r)) {
      if (adopted->cursor.empty()) std::abort();
      for (const auto& e : adopted->events)
        if (e.ref.empty() || e.id.empty()) std::abort();
    }
    freeReplyObject(r);
  }
  redisReaderFree(reader);
  return 0;
}
