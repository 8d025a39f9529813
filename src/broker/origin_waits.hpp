// The publishes this node took in cluster mode, waiting for the nodes'
// answers (broker/answer_collector.hpp), with one timer for all of them,
// armed for the earliest deadline. Every publish's `done` runs exactly
// once: when every expected node answered, at its deadline with what
// arrived, or at stop. Broker thread, except the round-trip figures.
#pragma once

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <optional>

#include "broker/answer_collector.hpp"
#include "broker/reply_channels.hpp"

namespace hf::broker {

class origin_waits {
 public:
  using clock = std::chrono::steady_clock;
  origin_waits(boost::asio::io_context& ioc, ack::result_limits limits);

  std::uint64_t open(clock::time_point deadline, std::string envelope_id,
                     hub::delivery_callback done, protocol::publish_options options = {});
  // Redis ran the publish after `rtt`: `nodes` received it.
  void expect(std::uint64_t id, std::size_t nodes, clock::duration rtt);
  // The publish may have reached anyone: answered at its deadline, marked.
  void lost(std::uint64_t id);
  void answer(std::uint64_t id, std::string_view envelope_id, std::uint64_t count,
              std::uint64_t dropped, std::vector<std::string> results);
  // A node's answer with receipts (section 12; answer_collector::receipts).
  void receipts(wire::node_answer a);
  // Another node's answer (wire::decode_answer) on one of `replies`'
  // channels; a malformed one, or one for another process, is logged
  // (rate-limited) and ignored.
  void on_answer(std::string_view payload, const reply_channels& replies);
  // The publish never left this node: its callback back, to deliver locally.
  std::optional<hub::delivery_callback> withdraw(std::uint64_t id);
  // Draining: every wait ends by `by`.
  void shorten(clock::time_point by);
  // Stopping: every publish answered now with what it has.
  void finish_all();

  // Any thread: PUBLISH round trips so far (total seconds, count).
  double rtt_seconds() const noexcept {
    return double(rtt_ns_.load(std::memory_order_relaxed)) / 1e9;
  }
  std::uint64_t rtt_count() const noexcept { return rtt_count_.load(std::memory_order_relaxed); }

 private:
  void complete(std::optional<answer_collector::completion> c);
  void arm();

  answer_collector requests_;
  boost::asio::steady_timer timer_;
  std::optional<clock::time_point> armed_for_;
  std::atomic<std::uint64_t> rtt_ns_{0}, rtt_count_{0};  // written on the broker thread only
};

}  // namespace hf::broker
