// The shard's bookkeeping of one user (its sockets, its pending publishes),
// shared by the files that implement hub::shard: shard.cpp (sockets,
// messages, delivery and acks), shard_recovery.cpp (section 7's replay) and
// shard_devices.cpp (sections 11-13: devices, cancel, roster). Private to
// the hub: nothing outside src/hub includes it.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/container/small_vector.hpp>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>

#include "ack/ack_collector.hpp"
#include "hub/connection.hpp"
#include "hub/delivery.hpp"

namespace hf::hub {

// A publish that was sent to at least one socket and waits for acks. Owned by
// its user_state; the deadline timer finds it again by envelope id, so a timer
// that fires after the publish finished finds nothing and does nothing.
struct pending_publish {
  pending_publish(boost::asio::io_context& ioc, ack::ack_collector a, delivery_callback cb)
      : acks(std::move(a)), timer(ioc), done(std::move(cb)) {}
  ack::ack_collector acks;
  boost::asio::steady_timer timer;
  delivery_callback done;
  // Section 12: what the publish asked, when it arrived (ackMs counts from
  // then), and, in a cluster with `until`, where each ack goes as it comes.
  protocol::publish_options options;
  std::chrono::steady_clock::time_point arrived{};
  ack_progress progress;
};

// One user's presence on this shard. Exists while the user has a socket here
// (or a publish still waiting on one); a user with no sockets costs nothing.
// Looks strings up by string_view without building a key (C++20 transparent hashing).
struct id_hash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const noexcept {
    return std::hash<std::string_view>{}(s);
  }
};

// The publishes waiting for one user's acks, by envelope id. The map exists
// only while one does: most users wait for nothing most of the time, and an
// idle socket's user then costs a pointer here instead of a 56-byte map.
class pending_table {
 public:
  using map =
      std::unordered_map<std::string, std::unique_ptr<pending_publish>, id_hash, std::equal_to<>>;
  map::iterator begin() { return m_ ? m_->begin() : none().begin(); }
  map::iterator end() { return m_ ? m_->end() : none().end(); }
  map::iterator find(std::string_view id) { return m_ ? m_->find(id) : none().end(); }
  bool contains(std::string_view id) const { return m_ && m_->find(id) != m_->end(); }
  bool empty() const noexcept { return !m_ || m_->empty(); }
  void emplace(const std::string& id, std::unique_ptr<pending_publish> p) {
    if (!m_) m_ = std::make_unique<map>();
    m_->emplace(id, std::move(p));
  }
  // `it` from find() on this table, not end().
  void erase(map::iterator it) {
    m_->erase(it);
    if (m_->empty()) m_.reset();
  }

 private:
  // Iterators for a table without a map: those of one map that stays empty.
  static map& none() {
    static map empty;
    return empty;
  }
  std::unique_ptr<map> m_;
};

struct user_state {
  std::string id;
  // Most users have one socket here: it is kept inline, not in a heap block.
  boost::container::small_vector<connection*, 1> connections;
  pending_table pending;
  std::size_t closing = 0;  // retired sockets (closing, not in `connections`, still counted)
  std::size_t filters = 0;  // over `connections` (MAX_FILTERS_PER_USER)
};

// connection::slot_ of a retired socket.
inline constexpr std::uint32_t closing_slot = UINT32_MAX;

}  // namespace hf::hub
