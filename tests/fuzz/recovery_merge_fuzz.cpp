// Fuzz target: the recovery merge (recovery/merge.hpp) over arbitrary reads,
// held envelopes, sent lists and filters, decoded from the input bytes.
// Properties: the replay is strictly ascending in offset (so no offset
// twice), holds nothing at or before the position in its epoch, nothing sent
// before the recover from the read, nothing of another epoch than the view's
// and nothing past its latest, and is empty unless the position is in the
// view's epoch; `later` holds only envelopes beyond the view, except, when
// the position is elsewhere, held ones of the view's epoch after the frame
// offset (which is the latest otherwise), first and ascending;
// recovered:true only for a complete view of the position's epoch with an
// untruncated sent list; every held envelope is in the replay, in later, or
// at/before the position, or equal in offset to a replayed one. The cursor
// never moves back within an epoch, nor to the epoch it has just left.
#include <cstdint>
#include <cstdlib>
#include <set>
#include <string>

#include "recovery/merge.hpp"

using namespace hf::recovery;

namespace {
struct reader {
  const std::uint8_t* p;
  std::size_t n;
  std::uint8_t next() {
    if (!n) return 0;
    --n;
    return *p++;
  }
};

numbered make(std::string epoch, std::uint64_t offset, bool match) {
  hf::protocol::envelope e;
  e.type = match ? "t" : "x";
  return {std::make_shared<const hf::protocol::envelope>(std::move(e)), std::move(epoch), offset};
}
const char* epochs[] = {"E", "F", "G"};
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  reader in{data, size};
  std::uint8_t flags = in.next();
  std::optional<stream_position> after;
  if (flags & 1) after = stream_position{epochs[in.next() % 3], std::uint64_t(in.next() % 32)};
  stream_view v{true, epochs[in.next() % 3], std::uint64_t(in.next() % 40), {}, (flags & 2) != 0};
  std::size_t records = in.next() % 16, held_n = in.next() % 16, sent_n = in.next() % 160;
  std::uint64_t o = in.next() % 40;
  for (std::size_t i = 0; i < records; ++i) {
    o += 1 + in.next() % 3;  // a read's records ascend
    v.records.push_back(make(v.epoch, o, in.next() & 1));
  }
  std::vector<numbered> held;
  for (std::size_t i = 0; i < held_n; ++i)
    held.push_back(make(epochs[in.next() % 3], 1 + in.next() % 47, true));  // offsets start at 1
  sent_before_recover sent;
  std::set<std::uint64_t> sent_set;
  for (std::size_t i = 0; i < sent_n; ++i) {
    std::uint64_t s = in.next() % 48;
    sent.record(s);
    sent_set.insert(s);
  }
  auto held_copy = held;
  auto plan = plan_replay(after, v, std::move(held), sent,
                          [](const hf::protocol::envelope& e) { return e.type == "t"; });

  if (plan.recovered && !(after && after->epoch == v.epoch && v.complete && !sent.overflowed()))
    std::abort();
  std::uint64_t prev = 0;
  bool first = true;
  std::set<std::uint64_t> replayed;
  for (const auto& n : plan.replay) {
    if (!first && n.offset <= prev) std::abort();
    first = false;
    prev = n.offset;
    replayed.insert(n.offset);
    if (n.epoch != v.epoch || n.offset > v.latest) std::abort();
    if (after && after->epoch == n.epoch && n.offset <= after->offset) std::abort();
  }
  for (const auto& r : v.records)
    if (replayed.count(r.offset) && !sent.overflowed() && sent_set.count(r.offset)) {
      // Replayed from the read although sent before: only allowed when a
      // held envelope of that offset brought it.
      bool from_held = false;
      for (const auto& h : held_copy) from_held |= h.epoch == v.epoch && h.offset == r.offset;
      if (!from_held) std::abort();
    }
  bool same = after && after->epoch == v.epoch;
  if (!same && !plan.replay.empty()) std::abort();
  if (plan.frame_offset > v.latest || (same && plan.frame_offset != v.latest)) std::abort();
  bool in_known = true;  // still in the leading run of the view's epoch
  std::uint64_t prev_known = plan.frame_offset;
  for (const auto& n : plan.later) {
    bool known = n.epoch == v.epoch && n.offset <= v.latest;
    if (known && (same || !in_known || n.offset <= plan.frame_offset || n.offset < prev_known))
      std::abort();
    if (known) prev_known = n.offset;
    in_known = in_known && known;
  }
  for (const auto& h : held_copy) {
    bool before = after && h.epoch == after->epoch && h.offset <= after->offset;
    bool beyond = !(h.epoch == v.epoch && h.offset <= v.latest);
    if (!before && !beyond && same && !replayed.count(h.offset)) std::abort();
  }

  std::string left = after && after->epoch != v.epoch ? after->epoch : std::string();
  cursor c{v.epoch, plan.frame_offset, left};
  for (const auto& n : plan.later) {
    std::string was = c.epoch, just_left = c.left;
    std::uint64_t last = c.last;
    step s = advance(c, n.epoch, n.offset);
    if (s != step::skip && !just_left.empty() && n.epoch == just_left) std::abort();
    if (s == step::skip && (c.epoch != was || c.last != last)) std::abort();
    if (s == step::send && (n.epoch != was || n.offset <= last || c.last != n.offset)) std::abort();
    if (s == step::announce_then_send && (n.epoch == was || c.epoch != n.epoch)) std::abort();
  }
  return 0;
}
