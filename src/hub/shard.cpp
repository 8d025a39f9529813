#include "hub/shard.hpp"

#include <algorithm>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <type_traits>
#include <variant>

#include "ack/ack_collector.hpp"
#include "core/log.hpp"
#include "core/text.hpp"
#include "protocol/client_message.hpp"

namespace hf::hub {

// A publish that was sent to at least one socket and waits for acks. Owned by
// its user_state; the deadline timer finds it again by envelope id, so a timer
// that fires after the publish finished finds nothing and does nothing.
struct pending_publish {
  pending_publish(boost::asio::io_context& ioc, std::vector<std::uint64_t> targets,
                  ack::result_limits limits, delivery_callback cb)
      : acks(std::move(targets), limits), timer(ioc), done(std::move(cb)) {}
  ack::ack_collector acks;
  boost::asio::steady_timer timer;
  delivery_callback done;
};

// One user's presence on this shard. Exists while the user has a socket here
// (or a publish still waiting on one); a user with no sockets costs nothing.
struct user_state {
  std::string id;
  std::vector<connection*> connections;
  std::unordered_map<std::string, std::unique_ptr<pending_publish>> pending;
};

namespace {
const shared_text pong_text = std::make_shared<const std::string>("pong");
}

shard::shard(boost::asio::io_context& ioc, shard_limits limits, metrics::counters* counters)
    : ioc_(ioc),
      limits_(limits),
      counters_(counters),
      history_(limits.history, [] { return protocol::random_uuid_v4(); }) {}
shard::~shard() = default;

void shard::attach(connection& c, std::string_view user_id) {
  auto it = users_.find(std::string(user_id));
  if (it == users_.end()) {
    auto u = std::make_unique<user_state>();
    u->id.assign(user_id);
    it = users_.emplace(u->id, std::move(u)).first;
  }
  user_state& u = *it->second;
  c.id_ = next_connection_id_++;
  c.user_ = &u;
  history_.pin(u.id, std::chrono::steady_clock::now());
  c.slot_ = u.connections.size();
  u.connections.push_back(&c);
  ++connections_;
}

void shard::detach(connection& c) {
  if (!c.user_) return;
  user_state& u = *c.user_;
  c.user_ = nullptr;
  --connections_;
  history_.unpin(u.id, std::chrono::steady_clock::now());
  // Swap-and-pop: delivery order across one user's sockets carries no meaning.
  connection* last = u.connections.back();
  u.connections[c.slot_] = last;
  last->slot_ = c.slot_;
  u.connections.pop_back();

  std::vector<std::string> completed;
  for (auto& [id, p] : u.pending)
    if (p->acks.on_gone(c.id_) && p->acks.complete()) completed.push_back(id);
  for (const auto& id : completed) finish(u, id);
  erase_if_idle(u);
}

void shard::on_text(connection& c, std::string_view text) {
  if (!c.user_) return;
  auto msg = protocol::parse_client_message(text);
  std::visit(
      [&](auto& m) {
        using T = std::decay_t<decltype(m)>;
        if constexpr (std::is_same_v<T, protocol::ping_message>) {
          c.send_text(pong_text);
        } else if constexpr (std::is_same_v<T, protocol::subscribe_message>) {
          auto added = c.filters_.add(std::move(m.filters), limits_.max_filters_per_socket);
          if (added.refused) filters_refused(c, added.refused);
        } else if constexpr (std::is_same_v<T, protocol::unsubscribe_message>) {
          c.filters_.remove(m.filters);
        } else if constexpr (std::is_same_v<T, protocol::ack_message>) {
          on_ack(c, m.envelope_id, std::move(m.result_json));
        } else if constexpr (std::is_same_v<T, protocol::recover_message>) {
          on_recover(c, m);
        }
      },
      msg);
}

// A subscribe went past MAX_FILTERS_PER_SOCKET: the client hears which
// limit and how many filters were not added (a frame a client that does not
// know it ignores, like any unknown message), instead of silently missing
// envelopes later.
void shard::filters_refused(connection& c, std::size_t refused) {
  if (counters_) counters_->refused(metrics::limit_kind::filters_per_socket);
  core::log_refusal(spdlog::level::info,
                    "socket of user {}: {} filters refused (MAX_FILTERS_PER_SOCKET={})",
                    core::printable(c.user_->id), refused, limits_.max_filters_per_socket);
  c.send_text(std::make_shared<const std::string>(
      protocol::serialize_filters_refused(limits_.max_filters_per_socket, refused)));
}

void shard::on_ack(connection& c, std::string_view envelope_id, std::string result_json) {
  user_state& u = *c.user_;
  auto it = u.pending.find(std::string(envelope_id));
  if (it == u.pending.end()) return;
  if (!it->second->acks.on_ack(c.id_, std::move(result_json))) return;
  if (counters_) ++counters_->acks;
  if (it->second->acks.complete()) finish(u, it->first);
}

// The first `recover` of a socket (later ones are ignored): from now on its
// envelopes carry offsets; with a position, the kept envelopes after it that
// match the socket's filters now and were not sent to it yet go first, in
// offset order; then the `recovered` frame. On this thread, in order with
// the socket's other messages, so no live envelope can slip in between.
void shard::on_recover(connection& c, const protocol::recover_message& m) {
  if (c.offsets_) return;
  c.offsets_ = true;
  auto now = std::chrono::steady_clock::now();
  history_.expire(now);
  user_state& u = *c.user_;
  auto pos = history_.at(u.id, now);
  bool recovered = false;
  if (m.from) {
    auto kept = history_.since(u.id, m.from->epoch, m.from->offset);
    recovered = kept.complete && !c.sent_overflow_;
    for (const recovery::record* r : kept.records) {
      if (std::find(c.sent_.begin(), c.sent_.end(), r->offset) != c.sent_.end()) continue;
      const auto& e = *r->env;
      if (!c.filters_.matches(e.type, e.payload ? &*e.payload : nullptr)) continue;
      // A replay that does not fit the socket's queue closes it (slow
      // consumer): the client reconnects and asks again.
      if (!accepted(c.send_text(
              std::make_shared<const std::string>(protocol::with_offset(e.text, r->offset)))))
        return;
    }
  }
  c.sent_.clear();
  c.sent_.shrink_to_fit();
  c.send_text(std::make_shared<const std::string>(
      protocol::serialize_recovered(pos.epoch, pos.offset, recovered)));
}

void shard::deliver(std::shared_ptr<const protocol::envelope> env, deadline until,
                    delivery_callback done) {
  // Every publish gets its user's next offset, whether or not a socket of the
  // user is here (a socket that reconnects later may ask for it).
  auto it = stopping_ ? users_.end() : users_.find(env->user_id);
  std::uint64_t offset = 0;
  if (!stopping_ && (it == users_.end() || !it->second->pending.count(env->id)))
    offset = history_.append(env, std::chrono::steady_clock::now()).offset;
  if (it == users_.end()) {
    done({});
    return;
  }
  user_state& u = *it->second;
  if (u.pending.count(env->id)) {
    // The same envelope again (a broker must never do this): no socket gets
    // it twice, and this delivery reports no targets.
    done({});
    return;
  }
  const boost::json::value* payload = env->payload ? &*env->payload : nullptr;
  // The text is shared with the envelope: one serialisation for all targets.
  shared_text text(env, &env->text);
  shared_text numbered;  // the text with its offset, made for the first socket that wants it
  std::vector<std::uint64_t> targets;
  for (connection* c : u.connections) {
    if (!c->filters_.matches(env->type, payload)) continue;
    if (c->offsets_ && !numbered)
      numbered = std::make_shared<const std::string>(protocol::with_offset(env->text, offset));
    // A socket that refused the frame (closing, or just closed as a slow
    // consumer) is not a target: nothing will come back from it.
    if (!accepted(c->send_text(c->offsets_ ? numbered : text))) continue;
    targets.push_back(c->id_);
    if (!c->offsets_ && !c->sent_overflow_) {
      if (c->sent_.size() < max_tracked_before_recover) {
        c->sent_.push_back(offset);
      } else {  // stop tracking: this socket's recover will answer recovered:false
        c->sent_overflow_ = true;
        c->sent_.clear();
        c->sent_.shrink_to_fit();
      }
    }
  }
  if (counters_) counters_->deliveries += targets.size();
  if (targets.empty() || until <= std::chrono::steady_clock::now()) {
    done({targets.size(), {}});
    return;
  }
  auto p =
      std::make_unique<pending_publish>(ioc_, std::move(targets), limits_.results, std::move(done));
  p->timer.expires_at(until);
  p->timer.async_wait([this, user = u.id, id = env->id](boost::system::error_code ec) {
    if (ec) return;
    auto uit = users_.find(user);
    if (uit == users_.end()) return;
    user_state& owner = *uit->second;
    if (counters_) ++counters_->ack_deadlines;
    finish(owner, id);
    erase_if_idle(owner);
  });
  u.pending.emplace(env->id, std::move(p));
  ++pending_;
}

void shard::finish(user_state& u, const std::string& envelope_id) {
  auto it = u.pending.find(envelope_id);
  if (it == u.pending.end()) return;
  std::unique_ptr<pending_publish> p = std::move(it->second);
  u.pending.erase(it);
  --pending_;
  p->timer.cancel();
  p->done({p->acks.client_count(), std::move(p->acks.results()), p->acks.dropped(), {}});
}

void shard::erase_if_idle(user_state& u) {
  if (!u.connections.empty() || !u.pending.empty()) return;
  auto it = users_.find(u.id);  // erase by iterator: u.id dies with the entry
  users_.erase(it);
}

void shard::stop_publishes() {
  stopping_ = true;
  for (auto& [uid, u] : users_) {
    std::vector<std::string> ids;
    for (auto& [id, p] : u->pending) ids.push_back(id);
    for (const auto& id : ids) finish(*u, id);
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
  history_.expire(std::chrono::steady_clock::now());
  return dead.size();
}

std::size_t shard::sockets_of(std::string_view user_id) const {
  auto it = users_.find(std::string(user_id));
  return it == users_.end() ? 0 : it->second->connections.size();
}

shard_stats shard::stats() const noexcept { return {users_.size(), connections_, pending_}; }

}  // namespace hf::hub
