#include "broker/device_roster.hpp"

#include <hiredis/hiredis.h>
#include <spdlog/spdlog.h>

#include <boost/asio/post.hpp>

#include "broker/device_wire.hpp"
#include "core/log.hpp"

namespace hf::broker {

bool device_roster::publish(const std::string& channel, std::string message,
                            redis_backend::reply_fn done) {
  return redis_.command({names_.sharded ? "SPUBLISH" : "PUBLISH", channel, std::move(message)},
                        channel, std::move(done));
}

void device_roster::device_opened(const std::string& user, const std::string& device,
                                  std::int64_t since_ms) {
  if (!redis_.up()) return;  // nodes that cannot hear it keep their socket (docs/cluster.md)
  publish(names_.user_channel(user),
          wire::encode(wire::device_opened{replies_.incarnation(), since_ms, device}),
          [](redisReply*) {});
}

bool device_roster::on_user_message(std::string_view user, std::string_view payload) {
  if (auto m = wire::decode_device_opened(payload)) {
    if (m->incarnation != replies_.incarnation())  // this node's shard replaced its own
      hub_.replace_device(std::string(user), m->device, m->since_ms,
                          replies_.incarnation() < m->incarnation);
    return true;
  }
  if (auto q = wire::decode_roster_query(payload)) {
    hub_.roster(std::string(user), [this, q = std::move(*q)](
                                       std::vector<protocol::roster_entry> entries) mutable {
      boost::asio::post(ioc_, [this, q = std::move(q), entries = std::move(entries)]() mutable {
        if (replies_.mine(q.incarnation)) return add(q.request, std::move(entries));
        if (!redis_.up()) return;  // the asker answers at its deadline without this node
        publish(wire::reply_channel(q.node, q.incarnation),
                wire::encode(wire::roster_answer{q.incarnation, q.request, std::move(entries)}),
                [](redisReply*) {});
      });
    });
    return true;
  }
  return payload.starts_with("R1 ") || payload.starts_with("Q1 ");  // malformed: dropped
}

bool device_roster::on_answer(std::string_view payload) {
  if (!payload.starts_with("D1 ")) return false;
  auto a = wire::decode_roster_answer(payload);
  if (!a || !replies_.mine(a->incarnation)) {
    core::log_refusal(spdlog::level::warn, "cluster: ignored a malformed roster answer");
    return true;
  }
  add(a->request, std::move(a->entries));
  return true;
}

void device_roster::local(const std::string& user, std::optional<metrics::degradation> why,
                          broker::roster_callback done) {
  hub_.roster(user, [why, done = std::move(done)](std::vector<protocol::roster_entry> e) {
    done(std::move(e), why);
  });
}

void device_roster::roster(const std::string& user, bool up, broker::roster_callback done) {
  if (!up) return local(user, metrics::degradation::local_only, std::move(done));
  if (waiting_.size() >= max_waiting)
    return local(user, metrics::degradation::partial, std::move(done));
  std::uint64_t id = next_request_++;
  std::string channel = names_.user_channel(user);
  auto inc = replies_.incarnation_for(names_.sharded ? redis_.shard_of(names_.meta_key(user)) : -1);
  waiting w{std::move(done), -1, 0, {}, std::make_unique<boost::asio::steady_timer>(ioc_)};
  w.timer->expires_after(roster_wait);
  w.timer->async_wait([this, id](boost::system::error_code ec) {
    if (!ec) finish(id);
  });
  waiting_.emplace(id, std::move(w));
  bool sent = publish(channel, wire::encode(wire::roster_query{node_id_, inc, id}),
                      [this, id, user](redisReply* r) {
                        auto it = waiting_.find(id);
                        if (it == waiting_.end()) return;
                        if (!r || r->type != REDIS_REPLY_INTEGER) {
                          // Nobody may have heard it: this node's sockets.
                          auto done = std::move(it->second.done);
                          waiting_.erase(it);
                          return local(user, metrics::degradation::local_only, std::move(done));
                        }
                        it->second.expected = static_cast<long>(r->integer);
                        if (it->second.received >= it->second.expected) finish(id);
                      });
  if (!sent) {
    auto it = waiting_.find(id);
    auto d = std::move(it->second.done);
    waiting_.erase(it);
    local(user, metrics::degradation::local_only, std::move(d));
  }
}

void device_roster::add(std::uint64_t request, std::vector<protocol::roster_entry> entries) {
  auto it = waiting_.find(request);
  if (it == waiting_.end()) return;
  auto& w = it->second;
  for (auto& e : entries) w.entries.push_back(std::move(e));
  if (++w.received >= w.expected && w.expected >= 0) finish(request);
}

void device_roster::finish(std::uint64_t request) {
  auto it = waiting_.find(request);
  if (it == waiting_.end()) return;
  waiting w = std::move(it->second);
  waiting_.erase(it);
  w.timer->cancel();
  std::optional<metrics::degradation> why;
  if (w.expected < 0)
    why = metrics::degradation::unknown;
  else if (w.received < w.expected)
    why = metrics::degradation::partial;
  w.done(std::move(w.entries), why);
}

}  // namespace hf::broker
