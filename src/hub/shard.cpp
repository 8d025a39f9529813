#include "hub/shard.hpp"

#include <algorithm>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/container/small_vector.hpp>
#include <cstdio>
#include <type_traits>
#include <variant>

#include "core/log.hpp"
#include "core/text.hpp"
#include "hub/shard_state.hpp"
#include "protocol/client_message.hpp"

namespace hf::hub {

namespace {
const shared_text pong_text = std::make_shared<const std::string>("pong");
}  // namespace

shard::shard(boost::asio::io_context& ioc, shard_limits limits, metrics::counters* counters)
    : ioc_(ioc),
      limits_(limits),
      counters_(counters),
      history_(limits.history, epoch_names(), [this](const std::string& user) -> std::size_t {
        auto it = users_.find(user);
        return it == users_.end() ? 0 : it->second->connections.size();
      }) {}

// Epoch names for this shard's users: a random prefix (no two processes
// share one) and a counter, 15 characters for the first 16 million, short
// enough to stay in a std::string's own buffer.
std::function<std::string()> shard::epoch_names() {
  std::string prefix = protocol::random_uuid_v4().substr(0, 8);
  return [prefix, n = std::uint64_t{0}]() mutable {
    char buf[24];
    int len = std::snprintf(buf, sizeof buf, "%llx", static_cast<unsigned long long>(++n));
    return prefix + "-" + std::string(buf, static_cast<std::size_t>(len));
  };
}
shard::~shard() = default;

std::int64_t shard::attach(connection& c, std::string_view user_id, std::int64_t expires_at,
                           std::string_view device) {
  c.expires_at_ = expires_at;
  c.since_ms_ = std::chrono::duration_cast<std::chrono::milliseconds>(
                    std::chrono::system_clock::now().time_since_epoch())
                    .count();
  if (limits_.close_expired && expires_at != INT64_MAX) expiries_.emplace(expires_at, &c);
  auto it = users_.find(user_id);
  if (it == users_.end()) {
    auto u = std::make_unique<user_state>();
    u->id.assign(user_id);
    it = users_.emplace(u->id, std::move(u)).first;
  }
  user_state& u = *it->second;
  if (!device.empty()) {
    replace_here(u, device, INT64_MAX);  // every older socket of the device here
    c.device_ = std::make_unique<const std::string>(device);
  }
  c.id_ = next_connection_id_++;
  c.user_ = &u;
  history_.pin(u.id, std::chrono::steady_clock::now());
  c.slot_ = static_cast<std::uint32_t>(u.connections.size());
  u.connections.push_back(&c);
  ++connections_;
  return c.since_ms_;
}

void shard::retire(connection& c) {
  if (!c.user_ || c.slot_ == closing_slot) return;
  user_state& u = *c.user_;
  std::size_t slot = c.slot_;
  c.slot_ = closing_slot;  // before stop_targeting: a callback it runs sees a closing socket
  ++u.closing;
  stop_targeting(u, c, slot);
}

void shard::detach(connection& c) {
  if (!c.user_) return;
  user_state& u = *c.user_;
  bool was_closing = c.slot_ == closing_slot;
  if (was_closing) --u.closing;
  c.user_ = nullptr;
  --connections_;
  history_.unpin(u.id, std::chrono::steady_clock::now());
  if (!was_closing)
    stop_targeting(u, c, c.slot_);  // erases u when idle
  else
    erase_if_idle(u);
}

// `c` leaves u.connections (by now retired or detached): what it held for
// matching and recovery is freed, and pending publishes stop waiting for it.
void shard::stop_targeting(user_state& u, connection& c, std::size_t slot) {
  expiries_.erase({c.expires_at_, &c});
  // Swap-and-pop: delivery order across one user's sockets carries no meaning.
  connection* last = u.connections.back();
  u.connections[slot] = last;
  if (last != &c) last->slot_ = static_cast<std::uint32_t>(slot);
  u.connections.pop_back();
  u.filters -= c.filters_.size();
  c.filters_ = {};
  c.rec_.reset();
  c.sent_.release();

  std::vector<std::string> completed;
  for (auto& [id, p] : u.pending)
    if (p->acks.on_gone(c.id_) && p->acks.complete()) completed.push_back(id);
  for (const auto& id : completed) finish(u, id);
  erase_if_idle(u);
}

void shard::on_text(connection& c, std::string_view text) {
  if (!c.user_ || c.slot_ == closing_slot) return;
  if (c.rec_ && c.rec_->reading) {  // after the replay, in order
    if (c.rec_->waiting.size() >= max_held_while_reading)
      return c.close(metrics::close_reason::slow_consumer);
    if (!hold(c, text.size())) return;
    c.rec_->waiting.emplace_back(text);
    return;
  }
  auto msg = protocol::parse_client_message(text);
  std::visit(
      [&](auto& m) {
        using T = std::decay_t<decltype(m)>;
        if constexpr (std::is_same_v<T, protocol::ping_message>) {
          c.send_text(pong_text);
        } else if constexpr (std::is_same_v<T, protocol::subscribe_message>) {
          subscribe(c, std::move(m.filters));
        } else if constexpr (std::is_same_v<T, protocol::unsubscribe_message>) {
          c.user_->filters -= c.filters_.remove(m.filters);
        } else if constexpr (std::is_same_v<T, protocol::ack_message>) {
          on_ack(c, m.envelope_id(), std::move(m.result_json));
        } else if constexpr (std::is_same_v<T, protocol::recover_message>) {
          on_recover(c, m);
        } else if constexpr (std::is_same_v<T, protocol::refresh_message>) {
          on_refresh(c, m);
        }
      },
      msg);
}

// Adds filters within MAX_FILTERS_PER_SOCKET and, across the user's sockets
// here, MAX_FILTERS_PER_USER (whichever leaves less room decides).
void shard::subscribe(connection& c, std::vector<protocol::filter> filters) {
  user_state& u = *c.user_;
  std::size_t user_room =
      limits_.max_filters_per_user > u.filters ? limits_.max_filters_per_user - u.filters : 0;
  std::size_t user_limit = c.filters_.size() + user_room;
  bool per_user = user_limit < limits_.max_filters_per_socket;
  auto added =
      c.filters_.add(std::move(filters), per_user ? user_limit : limits_.max_filters_per_socket);
  u.filters += added.added;
  if (added.refused) filters_refused(c, added.refused, per_user);
}

// A subscribe went past MAX_FILTERS_PER_SOCKET or MAX_FILTERS_PER_USER: the
// client hears which limit and how many filters were not added (a frame a
// client that does not know it ignores, like any unknown message), instead
// of silently missing envelopes later. Both are counted as
// hopeflow_limit_refusals_total{limit="filters_per_socket"}; the log says which.
void shard::filters_refused(connection& c, std::size_t refused, bool per_user) {
  std::size_t limit = per_user ? limits_.max_filters_per_user : limits_.max_filters_per_socket;
  if (counters_) counters_->refused(metrics::limit_kind::filters_per_socket);
  core::log_refusal(spdlog::level::info, "socket of user {}: {} filters refused ({}={})",
                    core::printable(c.user_->id), refused,
                    per_user ? "MAX_FILTERS_PER_USER" : "MAX_FILTERS_PER_SOCKET", limit);
  c.send_text(
      std::make_shared<const std::string>(protocol::serialize_filters_refused(limit, refused)));
}

// `refresh` (docs/protocol.md section 8): a token of the same user gives the
// socket its expiry; anything else is refused with a reason and changes
// nothing.
void shard::on_refresh(connection& c, const protocol::refresh_message& m) {
  std::int64_t now = std::chrono::duration_cast<std::chrono::seconds>(
                         std::chrono::system_clock::now().time_since_epoch())
                         .count();
  if (c.refresh_minute_ != static_cast<std::int32_t>(now / 60)) {
    c.refresh_minute_ = static_cast<std::int32_t>(now / 60);
    c.refreshes_ = 0;
  }
  if (c.refreshes_ >= max_refreshes_per_minute)
    return refresh_failed(c, metrics::refresh_failure::rate_limited);
  ++c.refreshes_;
  if (!m.token) return refresh_failed(c, metrics::refresh_failure::missing_token);
  auto who = check_token_ ? check_token_(*m.token) : result<auth::principal>(errc::token_missing);
  if (!who)
    return refresh_failed(c, who.error() == errc::token_expired
                                 ? metrics::refresh_failure::expired
                                 : metrics::refresh_failure::invalid_token);
  if (who->publisher) return refresh_failed(c, metrics::refresh_failure::publisher);
  if (who->user_id != c.user_->id) return refresh_failed(c, metrics::refresh_failure::wrong_user);
  expiries_.erase({c.expires_at_, &c});
  c.expires_at_ = who->expires_at;
  if (limits_.close_expired && c.expires_at_ != INT64_MAX) expiries_.emplace(c.expires_at_, &c);
  if (counters_) ++counters_->refreshes;
  c.send_text(std::make_shared<const std::string>(protocol::serialize_refreshed(
      c.expires_at_ == INT64_MAX ? std::nullopt : std::optional<std::int64_t>(c.expires_at_))));
}

void shard::refresh_failed(connection& c, metrics::refresh_failure why) {
  if (counters_) ++counters_->refresh_failures[metrics::index(why)];
  c.send_text(std::make_shared<const std::string>(protocol::serialize_refresh_failed(
      protocol::refresh_failure_reasons[protocol::word_index(why)])));
}

std::size_t shard::sweep_expired(std::int64_t now) {
  std::vector<connection*> expired;
  for (auto it = expiries_.begin(); it != expiries_.end() && it->first <= now;) {
    expired.push_back(it->second);
    it = expiries_.erase(it);
  }
  for (connection* c : expired) {
    c->expires_at_ = INT64_MAX;  // closing: out of the sweep for good
    c->close(metrics::close_reason::token_expired);
  }
  return expired.size();
}

void shard::on_ack(connection& c, std::string_view envelope_id, std::string result_json) {
  user_state& u = *c.user_;
  auto it = u.pending.find(envelope_id);  // heterogeneous: no key built
  if (it == u.pending.end()) {
    if (!late_.empty()) on_late_ack(c, envelope_id, result_json);  // section 14
    return;
  }
  pending_publish& p = *it->second;
  std::int64_t ms = 0;
  if (p.options.any())
    ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                               p.arrived)
             .count();
  if (!p.acks.on_ack(c.id_, std::move(result_json), ms)) return;
  if (counters_) ++counters_->acks;
  if (p.progress) p.progress({p.acks.last_ack()});
  if (p.acks.complete())
    finish(u, it->first,
           p.acks.all_done() ? metrics::completion::all_done : metrics::completion::count_reached);
}

connection* shard::find(const std::string& user, std::uint64_t id) const {
  auto it = users_.find(user);
  if (it == users_.end()) return nullptr;
  for (connection* c : it->second->connections)
    if (c->id_ == id) return c;
  return nullptr;
}

void shard::deliver(std::shared_ptr<const protocol::envelope> env, deadline until,
                    delivery_callback done, ack_progress progress) {
  // Every publish gets its user's next offset, whether or not a socket of the
  // user is here (a socket that reconnects later may ask for it).
  auto it = stopping_ ? users_.end() : users_.find(env->user_id);
  // Its place in the user's stream: given by Redis in cluster mode, else
  // the next offset of this shard's own history (on one node, and in a
  // cluster while Redis is unreachable: a local epoch then).
  numbered place{env, env->epoch, env->offset};
  if (place.offset == 0 && !stopping_ &&
      (it == users_.end() || !it->second->pending.contains(env->id))) {
    auto now = std::chrono::steady_clock::now();
    auto stamped = history_.append(env, now);
    place.offset = stamped.offset;
    place.epoch = std::move(stamped.epoch);
  }
  std::uint64_t offset = place.offset;
  if (it == users_.end()) {
    done({});
    return;
  }
  user_state& u = *it->second;
  if (u.pending.contains(env->id)) {
    // The same envelope again (a broker must never do this): no socket gets
    // it twice, and this delivery reports no targets.
    done({});
    return;
  }
  // A payload kept as text is parsed only for a socket whose filters read it
  // (a filter with fields of this type), once per publish.
  std::optional<boost::json::value> parsed;
  auto payload_for = [&](const connection& c) -> const boost::json::value* {
    if (env->payload || !env->payload_at) return env->payload ? &*env->payload : nullptr;
    return c.filters_.reads_payload(env->type) ? protocol::payload_dom(*env, parsed) : nullptr;
  };
  // The text is shared with the envelope: one serialisation for all targets.
  shared_text text(env, &env->text);
  shared_text with_offset;  // the numbered text, made for the first socket that wants it
  // The targets, in a buffer the shard reuses (a publish that waits for no
  // ack needs only their count).
  std::vector<std::uint64_t>& targets = targets_scratch_;
  targets.clear();
  // Section 12: the targets' devices, kept only for a publish that asked.
  bool named = env->options.any();
  std::vector<ack::target> with_devices;
  auto target = [&](const connection& c) {
    targets.push_back(c.id_);
    if (named)
      with_devices.push_back(
          {c.id_, c.device_ ? std::optional<std::string>(*c.device_) : std::nullopt});
  };
  for (connection* c : u.connections) {
    if (!c->filters_.matches(env->type, payload_for(*c))) continue;
    if (c->rec_ && c->rec_->reading) {  // merged into its replay when that arrives
      if (c->rec_->held.size() >= max_held_while_reading) {
        c->close(metrics::close_reason::slow_consumer);
        continue;
      }
      if (!hold(*c, env->text.size())) continue;
      c->rec_->held.push_back(place);
      target(*c);
      continue;
    }
    if (c->rec_ && !with_offset)
      with_offset = std::make_shared<const std::string>(protocol::with_offset(env->text, offset));
    // A socket that refused the frame (closing, or just closed as a slow
    // consumer) is not a target: nothing will come back from it.
    if (!accepted(c->rec_ ? send_numbered(*c, place, with_offset) : c->send_text(text))) continue;
    target(*c);
    if (!c->rec_) c->sent_.record(offset);
  }
  if (counters_) counters_->deliveries += targets.size();
  bool waits = !targets.empty() && until > std::chrono::steady_clock::now();
  if (!waits && !named) {
    delivery_result r;
    r.client_count = targets.size();
    done(std::move(r));
    return;
  }
  auto p = std::make_unique<pending_publish>(
      ioc_,
      named ? ack::ack_collector(std::move(with_devices), limits_.results, env->options.until)
            : ack::ack_collector(std::vector<std::uint64_t>(targets), limits_.results),
      std::move(done));
  p->options = env->options;
  p->arrived = env->arrived;
  if (!waits) {  // fire-and-forget with options: every target pending
    if (env->options.cancel) send_cancels(u, *p, env->id);
    if (env->options.webhook && late_sink_) watch_late_acks(*p, u.id, env->id);
    delivery_result r;
    r.client_count = p->acks.client_count();
    r.receipts = p->acks.receipts();
    r.why = metrics::completion::deadline;
    p->done(std::move(r));
    return;
  }
  p->progress = std::move(progress);
  if (p->progress) p->progress(p->acks.receipts());  // every target, pending
  p->timer.expires_at(until);
  p->timer.async_wait([this, user = u.id, id = env->id](boost::system::error_code ec) {
    if (ec) return;
    auto uit = users_.find(user);
    if (uit == users_.end()) return;
    user_state& owner = *uit->second;
    if (counters_) ++counters_->ack_deadlines;
    finish(owner, id, metrics::completion::deadline);
    erase_if_idle(owner);
  });
  u.pending.emplace(env->id, std::move(p));
  ++pending_;
}

void shard::finish(user_state& u, std::string_view envelope_id, metrics::completion why) {
  auto it = u.pending.find(envelope_id);
  if (it == u.pending.end()) return;
  std::unique_ptr<pending_publish> p = std::move(it->second);
  if (p->options.cancel) send_cancels(u, *p, envelope_id);  // before the key (and view) goes
  if (p->options.webhook && late_sink_) watch_late_acks(*p, u.id, envelope_id);
  u.pending.erase(it);
  --pending_;
  p->timer.cancel();
  delivery_result r;
  r.client_count = p->acks.client_count();
  r.dropped = p->acks.dropped();
  if (p->options.any()) r.receipts = p->acks.receipts();  // for a cluster's origin, too
  r.results = std::move(p->acks.results());
  r.why = why;
  p->done(std::move(r));
}

void shard::erase_if_idle(user_state& u) {
  if (!u.connections.empty() || u.closing || !u.pending.empty()) return;
  auto it = users_.find(u.id);  // erase by iterator: u.id dies with the entry
  users_.erase(it);
}

void shard::stop_publishes() {
  stopping_ = true;
  for (auto& [uid, u] : users_) {
    std::vector<std::string> ids;
    for (auto& [id, p] : u->pending) ids.push_back(id);
    for (const auto& id : ids) finish(*u, id, metrics::completion::deadline);
  }
}

std::size_t shard::close_some(std::size_t count, metrics::close_reason why) {
  std::size_t left = 0;
  // close() never detaches synchronously, so iterating is safe.
  for (auto& [uid, u] : users_)
    for (connection* c : u->connections) {
      if (c->close_requested_) continue;
      if (count == 0) {
        ++left;
        continue;
      }
      c->close_requested_ = true;
      c->close(why);
      --count;
    }
  return left;
}

void shard::shutdown() {
  stop_publishes();
  close_some(SIZE_MAX, metrics::close_reason::shutdown);
}

std::size_t shard::sweep_heartbeats() {
  std::vector<connection*> dead;
  for (auto& [uid, u] : users_)
    for (connection* c : u->connections)
      if (!c->heartbeat()) dead.push_back(c);
  for (connection* c : dead) c->abort();  // abort detaches: not while iterating
  auto now = std::chrono::steady_clock::now();
  history_.expire(now);
  late_.expire(now);
  return dead.size();
}

std::size_t shard::sockets_of(std::string_view user_id) const {
  auto it = users_.find(user_id);
  return it == users_.end() ? 0 : it->second->connections.size() + it->second->closing;
}

const std::string& shard::user_of(const connection& c) noexcept {
  static const std::string none;
  return c.user_ ? c.user_->id : none;
}

shard_stats shard::stats() const noexcept { return {users_.size(), connections_, pending_}; }

}  // namespace hf::hub
