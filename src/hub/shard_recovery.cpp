// hub::shard, section 7: a socket's `recover`, the read of its user's
// stream and the replay merged with what arrived meanwhile
// (recovery/merge.hpp decides; this sends).
#include <boost/asio/post.hpp>

#include "core/log.hpp"
#include "core/text.hpp"
#include "hub/shard.hpp"
#include "hub/shard_state.hpp"
#include "protocol/client_message.hpp"

namespace hf::hub {

// Holds `bytes` more for `c` while its stream is read, within
// max_held_bytes (MAX_QUEUED_BYTES: what is held is queued to the socket
// afterwards). Over it, false: the socket is closed as a slow consumer
// (1008), and what it held is freed at once.
bool shard::hold(connection& c, std::size_t bytes) {
  recovering& r = *c.rec_;
  if (r.held_bytes + bytes <= limits_.max_held_bytes) {
    r.held_bytes += bytes;
    return true;
  }
  if (!c.close_requested_) {
    c.close_requested_ = true;
    if (counters_) counters_->refused(metrics::limit_kind::slow_consumer_1008);
    core::log_refusal(spdlog::level::warn,
                      "closing socket of user {}: slow consumer ({} bytes held while its stream "
                      "is read, MAX_QUEUED_BYTES={})",
                      core::printable(c.user_->id), r.held_bytes + bytes, limits_.max_held_bytes);
    c.close(metrics::close_reason::slow_consumer);
  }
  // Keeps held_bytes (over the budget): later arrivals are refused too.
  r.held = {};
  r.waiting = {};
  return false;
}

// The first `recover` of a socket (later ones are ignored): from now on its
// envelopes carry offsets. Its user's stream is read (here, or from the
// stream source in cluster mode), then finish_recover sends the replay and
// the `recovered` frame. Handled in order with the socket's other messages;
// while a stream is read elsewhere, live envelopes for the socket are held
// and merged by offset, so none is lost or doubled.
void shard::on_recover(connection& c, const protocol::recover_message& m) {
  if (c.rec_) return;
  c.rec_ = std::make_unique<recovering>();
  std::optional<stream_position> after;
  if (m.from) after = stream_position{m.from->epoch, m.from->offset};
  if (source_) {
    c.rec_->reading = true;
    source_->read_stream(
        c.user_->id, after, [this, user = c.user_->id, id = c.id_, after](stream_view v) mutable {
          boost::asio::post(ioc_, [this, user = std::move(user), id, after = std::move(after),
                                   v = std::move(v)]() mutable {
            if (connection* c = find(user, id)) finish_recover(*c, after, std::move(v));
          });
        });
    return;
  }
  finish_recover(c, after, local_view(c.user_->id, after));
}

// The stream of `user` as this shard's own history has it.
stream_view shard::local_view(const std::string& user,
                              const std::optional<stream_position>& after) {
  auto now = std::chrono::steady_clock::now();
  history_.expire(now);
  auto pos = history_.at(user, now);
  stream_view v{true, pos.epoch, pos.offset, {}, false};
  if (after) {
    auto kept = history_.since(user, after->epoch, after->offset);
    v.complete = kept.complete;
    for (const recovery::record* r : kept.records)
      v.records.push_back({r->env, pos.epoch, r->offset});
  }
  return v;
}

void shard::finish_recover(connection& c, const std::optional<stream_position>& after,
                           stream_view v) {
  if (!c.rec_) return;
  if (!v.ok) v = local_view(c.user_->id, {});  // the shared stream is unreachable: not vouched for
  std::string epoch = v.epoch;
  auto plan = recovery::plan_replay(
      after, std::move(v), std::move(c.rec_->held), c.sent_, [&c](const protocol::envelope& e) {
        std::optional<boost::json::value> parsed;
        return c.filters_.matches(
            e.type, c.filters_.reads_payload(e.type) ? protocol::payload_dom(e, parsed) : nullptr);
      });
  c.rec_->held.clear();
  c.rec_->held.shrink_to_fit();
  c.rec_->held_bytes = 0;
  c.rec_->reading = false;
  c.sent_.release();
  // The epoch the client named, if it is not the current one, is left for
  // good: nothing of it follows the frame.
  c.rec_->at = {epoch, plan.frame_offset, after && after->epoch != epoch ? after->epoch : ""};
  for (const auto& n : plan.replay)
    // A replay that does not fit the socket's queue closes it (slow
    // consumer): the client reconnects and asks again.
    if (!accepted(c.send_text(
            std::make_shared<const std::string>(protocol::with_offset(n.env->text, n.offset)))))
      return;
  c.send_text(std::make_shared<const std::string>(
      protocol::serialize_recovered(epoch, plan.frame_offset, plan.recovered)));
  for (const auto& n : plan.later) send_numbered(c, n, nullptr);
  auto waiting = std::move(c.rec_->waiting);
  c.rec_->waiting.clear();
  for (const auto& text : waiting) {
    if (!c.user_ || c.slot_ == closing_slot) return;  // an earlier message closed it
    on_text(c, text);
  }
}

// Sends `n` to an opted-in socket, in the order recovery::advance decides: a
// change of epoch is announced first (recovered:false, the new epoch, its
// offset before this envelope). `text`, when given, is the envelope's
// numbered text already made.
send_status shard::send_numbered(connection& c, const numbered& n, const shared_text& text) {
  switch (recovery::advance(c.rec_->at, n.epoch, n.offset)) {
    case recovery::step::skip:
      return send_status::closed;
    case recovery::step::announce_then_send:
      c.send_text(std::make_shared<const std::string>(
          protocol::serialize_recovered(n.epoch, n.offset - 1, false)));
      break;
    case recovery::step::send:
      break;
  }
  return c.send_text(
      text ? text
           : std::make_shared<const std::string>(protocol::with_offset(n.env->text, n.offset)));
}

}  // namespace hf::hub
