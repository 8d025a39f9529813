#include "recovery/merge.hpp"

#include <algorithm>
#include <charconv>

namespace hf::recovery {

void sent_before_recover::record(std::uint64_t offset) {
  if (overflow_) return;
  if (!offsets_) offsets_ = std::make_unique<std::vector<std::uint64_t>>();
  if (offsets_->size() < max_tracked) return offsets_->push_back(offset);
  overflow_ = true;  // stop tracking: this socket's recover answers recovered:false
  release();
}

bool sent_before_recover::contains(std::uint64_t offset) const noexcept {
  return offsets_ && std::find(offsets_->begin(), offsets_->end(), offset) != offsets_->end();
}

void sent_before_recover::release() noexcept { offsets_.reset(); }

replay_plan plan_replay(const std::optional<stream_position>& after, stream_view view,
                        std::vector<numbered> held, const sent_before_recover& sent,
                        const std::function<bool(const protocol::envelope&)>& wanted) {
  replay_plan plan;
  bool same_epoch = after && after->epoch == view.epoch;
  plan.recovered = same_epoch && view.ok && view.complete && !sent.overflowed();
  plan.frame_offset = view.latest;
  if (same_epoch)
    for (auto& n : view.records)
      if (n.offset > after->offset && n.offset <= view.latest && !sent.contains(n.offset) &&
          wanted(*n.env))
        plan.replay.push_back(std::move(n));
  for (auto& n : held) {
    // The client has everything up to its position (another node's socket
    // of it may have got this envelope just before the reconnect).
    if (after && n.epoch == after->epoch && n.offset <= after->offset) continue;
    if (n.epoch == view.epoch && n.offset <= view.latest && !same_epoch) {
      // The client does not know this epoch yet: after the frame.
      plan.frame_offset = std::min(plan.frame_offset, n.offset ? n.offset - 1 : 0);
      plan.later.push_back(std::move(n));
    } else if (n.epoch == view.epoch && n.offset <= view.latest) {
      bool dup = std::any_of(plan.replay.begin(), plan.replay.end(),
                             [&](const numbered& r) { return r.offset == n.offset; });
      if (!dup) plan.replay.push_back(std::move(n));
    } else {
      plan.later.push_back(std::move(n));
    }
  }
  std::sort(plan.replay.begin(), plan.replay.end(),
            [](const numbered& a, const numbered& b) { return a.offset < b.offset; });
  // The held envelopes of the view's epoch at or below its latest first,
  // in offset order; the rest as they came.
  auto known = std::stable_partition(plan.later.begin(), plan.later.end(), [&](const numbered& n) {
    return n.epoch == view.epoch && n.offset <= view.latest;
  });
  std::stable_sort(plan.later.begin(), known,
                   [](const numbered& a, const numbered& b) { return a.offset < b.offset; });
  return plan;
}

std::optional<std::uint64_t> epoch_stamp(std::string_view epoch) noexcept {
  auto colon = epoch.find(':');
  if (colon == std::string_view::npos || colon == 0 || colon > 20) return std::nullopt;
  std::uint64_t v = 0;
  auto [end, ec] = std::from_chars(epoch.data(), epoch.data() + colon, v);
  if (ec != std::errc() || end != epoch.data() + colon) return std::nullopt;
  return v;
}

bool older_epoch(std::string_view epoch, std::string_view than) noexcept {
  auto a = epoch_stamp(epoch), b = epoch_stamp(than);
  return a && b && *a < *b;
}

step advance(cursor& c, std::string_view epoch, std::uint64_t offset) {
  if (c.epoch != epoch) {
    if ((!c.left.empty() && epoch == c.left) || older_epoch(epoch, c.epoch)) return step::skip;
    c.left = std::move(c.epoch);
    c.epoch.assign(epoch);
    c.last = offset;
    return step::announce_then_send;
  }
  // Already sent (a replay read from Redis can overtake the same envelope's
  // fan-out, which comes on another connection), or older than the latest
  // the socket was told about: after a `recovered` frame only higher
  // offsets follow.
  if (offset <= c.last) return step::skip;
  c.last = offset;
  return step::send;
}

}  // namespace hf::recovery
