// Sections 11 and 13 of docs/protocol.md in a cluster, on the broker's
// thread:
// - a socket naming a device opened here: every other node holding a
//   socket of the user hears it on the user's channel and closes its older
//   socket of that device (4002); ties (the same millisecond) are broken
//   by the processes' incarnations, so exactly one of two sockets stays;
// - who is online: the asking node publishes a query on the user's
//   channel, which exactly the nodes holding a socket of the user hear;
//   each answers with its sockets; the asker waits for as many answers as
//   Redis says received the query, at most `roster_wait`, then answers with
//   what it has (marked partial). Redis unreachable: this node's sockets,
//   marked local-only.
// Costs: one PUBLISH per socket that names a device, nothing per close;
// one PUBLISH per roster query plus one per node that holds the user.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>

#include "broker/broker.hpp"
#include "broker/cluster_wire.hpp"
#include "broker/redis_backend.hpp"
#include "broker/reply_channels.hpp"
#include "hub/hub.hpp"

namespace hf::broker {

class device_roster {
 public:
  // The longest a roster waits for other nodes: within section 13's 1 s.
  static constexpr auto roster_wait = std::chrono::milliseconds(800);
  // Roster queries waiting at once on one node; more are answered with
  // this node's sockets, marked partial.
  static constexpr std::size_t max_waiting = 10'000;

  device_roster(boost::asio::io_context& ioc, const hub::hub& h, redis_backend& redis,
                const wire::names& names, const reply_channels& replies, std::string node_id)
      : ioc_(ioc),
        hub_(h),
        redis_(redis),
        names_(names),
        replies_(replies),
        node_id_(std::move(node_id)) {}

  // A socket of `user` naming `device` opened on this node at `since_ms`.
  void device_opened(const std::string& user, const std::string& device, std::int64_t since_ms);
  // A message on `user`'s channel; true when it was one of these (R1, Q1).
  bool on_user_message(std::string_view user, std::string_view payload);
  // A message on one of this process's reply channels; true when it was a
  // roster answer (D1).
  bool on_answer(std::string_view payload);
  // Who is online (`up`: Redis is usable now).
  void roster(const std::string& user, bool up, broker::roster_callback done);

 private:
  struct waiting {
    broker::roster_callback done;
    long expected = -1;  // answers to wait for; -1 until Redis says
    long received = 0;
    std::vector<protocol::roster_entry> entries;
    std::unique_ptr<boost::asio::steady_timer> timer;
  };
  void local(const std::string& user, std::optional<metrics::degradation> why,
             broker::roster_callback done);
  void add(std::uint64_t request, std::vector<protocol::roster_entry> entries);
  void finish(std::uint64_t request);
  bool publish(const std::string& channel, std::string message, redis_backend::reply_fn done);

  boost::asio::io_context& ioc_;
  const hub::hub& hub_;
  redis_backend& redis_;
  const wire::names& names_;
  const reply_channels& replies_;
  std::string node_id_;
  std::unordered_map<std::uint64_t, waiting> waiting_;
  std::uint64_t next_request_ = 1;
};

}  // namespace hf::broker
