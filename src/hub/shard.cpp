#include "hub/shard.hpp"

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
    : ioc_(ioc), limits_(limits), counters_(counters) {}
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
  c.slot_ = u.connections.size();
  u.connections.push_back(&c);
  ++connections_;
}

void shard::detach(connection& c) {
  if (!c.user_) return;
  user_state& u = *c.user_;
  c.user_ = nullptr;
  --connections_;
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

void shard::deliver(std::shared_ptr<const protocol::envelope> env, deadline until,
                    delivery_callback done) {
  auto it = stopping_ ? users_.end() : users_.find(env->user_id);
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
  std::vector<std::uint64_t> targets;
  for (connection* c : u.connections) {
    if (!c->filters_.matches(env->type, payload)) continue;
    // A socket that refused the frame (closing, or just closed as a slow
    // consumer) is not a target: nothing will come back from it.
    if (accepted(c->send_text(text))) targets.push_back(c->id_);
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
  return dead.size();
}

std::size_t shard::sockets_of(std::string_view user_id) const {
  auto it = users_.find(std::string(user_id));
  return it == users_.end() ? 0 : it->second->connections.size();
}

shard_stats shard::stats() const noexcept { return {users_.size(), connections_, pending_}; }

}  // namespace hf::hub
