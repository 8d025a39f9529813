#include "recovery/merge.hpp"

#include <algorithm>

namespace hf::recovery {

void sent_before_recover::record(std::uint64_t offset) {
  if (overflow_) return;
  if (offsets_.size() < max_tracked) return offsets_.push_back(offset);
  overflow_ = true;  // stop tracking: this socket's recover answers recovered:false
  release();
}

bool sent_before_recover::contains(std::uint64_t offset) const noexcept {
  return std::find(offsets_.begin(), offsets_.end(), offset) != offsets_.end();
}

void sent_before_recover::release() noexcept {
  offsets_.clear();
  offsets_.shrink_to_fit();
}

replay_plan plan_replay(const std::optional<stream_position>& after, stream_view view,
                        std::vector<numbered> held, const sent_before_recover& sent,
                        const std::function<bool(const protocol::envelope&)>& wanted) {
  replay_plan plan;
  bool same_epoch = after && after->epoch == view.epoch;
  plan.recovered = same_epoch && view.ok && view.complete && !sent.overflowed();
  if (same_epoch)
    for (auto& n : view.records)
      if (n.offset > after->offset && n.offset <= view.latest && !sent.contains(n.offset) &&
          wanted(*n.env))
        plan.replay.push_back(std::move(n));
  for (auto& n : held) {
    // The client has everything up to its position (another node's socket
    // of it may have got this envelope just before the reconnect).
    if (after && n.epoch == after->epoch && n.offset <= after->offset) continue;
    if (n.epoch == view.epoch && n.offset <= view.latest) {
      bool dup = std::any_of(plan.replay.begin(), plan.replay.end(),
                             [&](const numbered& r) { return r.offset == n.offset; });
      if (!dup) plan.replay.push_back(std::move(n));
    } else {
      plan.later.push_back(std::move(n));
    }
  }
  std::sort(plan.replay.begin(), plan.replay.end(),
            [](const numbered& a, const numbered& b) { return a.offset < b.offset; });
  return plan;
}

step advance(cursor& c, std::string_view epoch, std::uint64_t offset) {
  if (c.epoch != epoch) {
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
