// The hub: every shard of this node, and the rule that maps a user to the one
// shard that owns it. Immutable after start-up, so any thread may use it.
#pragma once

#include <memory>
#include <string_view>
#include <vector>

#include "hub/shard.hpp"

namespace hf::hub {

class hub {
 public:
  explicit hub(std::vector<shard*> shards);

  // Index of the shard that owns `user_id`: hash(userId) % shards.
  std::size_t owner_index(std::string_view user_id) const noexcept;
  shard& owner(std::string_view user_id) const noexcept { return *shards_[owner_index(user_id)]; }
  shard& at(std::size_t i) const noexcept { return *shards_[i]; }
  std::size_t size() const noexcept { return shards_.size(); }

  // Delivers to this node's sockets of env->user_id: posts the work to the
  // owning shard; `done` runs there, once. Any thread.
  void deliver(std::shared_ptr<const protocol::envelope> env, deadline until,
               delivery_callback done, ack_progress progress = {}) const;

  // Sections 11-13 on the owning shard (posted; any thread): another node's
  // socket of `device` opened at `since_ms` (shard::replace_device); the
  // origin answered a publish (shard::end_publish); this node's roster of
  // `user`, handed to `done` on the shard's thread.
  void replace_device(std::string user, std::string device, std::int64_t since_ms,
                      bool close_if_same_ms) const;
  void end_publish(std::string user, std::string envelope_id) const;
  void roster(std::string user,
              std::function<void(std::vector<protocol::roster_entry>)> done) const;

 private:
  std::vector<shard*> shards_;
};

}  // namespace hf::hub
