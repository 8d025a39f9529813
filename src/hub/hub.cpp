#include "hub/hub.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <functional>

namespace hf::hub {

hub::hub(std::vector<shard*> shards) : shards_(std::move(shards)) {}

std::size_t hub::owner_index(std::string_view user_id) const noexcept {
  return std::hash<std::string_view>{}(user_id) % shards_.size();
}

void hub::deliver(std::shared_ptr<const protocol::envelope> env, deadline until,
                  delivery_callback done, ack_progress progress) const {
  shard& s = owner(env->user_id);
  // Called on the owner's own thread (a publish taken by the worker that
  // owns its user; always so with THREADS=1): no hop through the queue.
  if (s.context().get_executor().running_in_this_thread())
    return s.deliver(std::move(env), until, std::move(done), std::move(progress));
  boost::asio::post(s.context(), [&s, env = std::move(env), until, done = std::move(done),
                                  progress = std::move(progress)]() mutable {
    s.deliver(std::move(env), until, std::move(done), std::move(progress));
  });
}

void hub::replace_device(std::string user, std::string device, std::int64_t since_ms,
                         bool close_if_same_ms) const {
  shard& s = owner(user);
  boost::asio::post(s.context(), [&s, user = std::move(user), device = std::move(device), since_ms,
                                  close_if_same_ms] {
    s.replace_device(user, device, since_ms, close_if_same_ms);
  });
}

void hub::end_publish(std::string user, std::string envelope_id) const {
  shard& s = owner(user);
  boost::asio::post(s.context(), [&s, user = std::move(user), id = std::move(envelope_id)] {
    s.end_publish(user, id);
  });
}

void hub::roster(std::string user,
                 std::function<void(std::vector<protocol::roster_entry>)> done) const {
  shard& s = owner(user);
  boost::asio::post(s.context(),
                    [&s, user = std::move(user), done = std::move(done)] { done(s.roster(user)); });
}

}  // namespace hf::hub
