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
                  delivery_callback done) const {
  shard& s = owner(env->user_id);
  boost::asio::post(s.context(),
                    [&s, env = std::move(env), until, done = std::move(done)]() mutable {
                      s.deliver(std::move(env), until, std::move(done));
                    });
}

}  // namespace hf::hub
