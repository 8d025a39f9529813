// The origin's side of a cluster publish: the publishes this node took and
// the node answers it is still waiting for. A publish completes when every
// node that received it (Redis's PUBLISH reply says how many) has answered,
// or at its deadline with what has arrived, marked partial (or unknown, when
// Redis never said how many nodes received it). An answer counts only for
// the publish it names (request id and envelope id). Pure: no clock of its
// own (the caller passes `now`), no timers (the caller arms one for
// next_deadline()), no I/O. Not thread-safe: one owner thread (the broker's).
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "ack/result_list.hpp"
#include "broker/cluster_wire.hpp"
#include "hub/delivery.hpp"

namespace hf::broker {

class answer_collector {
 public:
  using time_point = std::chrono::steady_clock::time_point;

  // A publish that is done: call `done` with `result` (exactly once).
  struct completion {
    hub::delivery_callback done;
    hub::delivery_result result;
  };

  // Results of one publish, from all nodes together, stay within `limits`.
  explicit answer_collector(ack::result_limits limits = {}) : limits_(limits) {}

  // Starts waiting for the answers to the publish of `envelope_id`; returns
  // its request id (unique for this collector). It completes by `deadline`
  // at the latest. With section 12's `options`, nodes answer with receipts
  // (receipts()), and with `until` it completes once that many targets
  // acked on any nodes and every node reported its targets.
  std::uint64_t open(time_point deadline, std::string envelope_id, hub::delivery_callback done,
                     protocol::publish_options options = {});

  // Redis delivered the publish to `nodes` subscribers: that many answers
  // are expected. Returns the completion when they are all in already.
  std::optional<completion> expect(std::uint64_t id, std::size_t nodes);

  // Redis's reply to the PUBLISH was lost with the connection: whether and
  // where the publish went is unknown. It completes at its deadline with
  // whatever answers still arrive, marked unknown.
  void lost(std::uint64_t id);

  // One node's answer: adds its count and results (in arrival order; beyond
  // the limits, counted as dropped). Answers for unknown or finished
  // requests, or naming another envelope, are ignored (nullopt).
  std::optional<completion> answer(std::uint64_t id, std::string_view envelope_id,
                                   std::size_t count, std::size_t dropped,
                                   std::vector<std::string> results);

  // One node's receipts answer (wire::node_answer::phase): its targets
  // (initial), an ack (ack), the targets that did not ack (after an
  // initial), or everything at once (final). Ignored like answer().
  std::optional<completion> receipts(std::uint64_t id, std::string_view envelope_id,
                                     wire::node_answer::phase step, std::size_t count,
                                     std::size_t dropped, std::vector<protocol::receipt> entries);

  // Takes a publish back before any node could have seen it (its PUBLISH
  // was never sent): returns its callback, which the caller now owns.
  std::optional<hub::delivery_callback> withdraw(std::uint64_t id);

  // Completes every publish whose deadline is not after `now`.
  std::vector<completion> expire(time_point now);

  // Moves every deadline later than `by` to `by` (drain: answer soon).
  void shorten(time_point by);

  // Completes every publish now, with what it has (shutdown).
  std::vector<completion> take_all();

  std::optional<time_point> next_deadline() const;
  std::size_t size() const noexcept { return requests_.size(); }

 private:
  struct request {
    hub::delivery_callback done;
    std::string envelope_id;
    long expected = -1;  // node answers to wait for; -1 until PUBLISH replies
    long received = 0;
    bool lost = false;  // the PUBLISH reply never came
    std::size_t count = 0;
    ack::result_list results;
    std::multimap<time_point, std::uint64_t>::iterator at;
    // Section 12: every target's receipt, in arrival order; acks counted;
    // nodes that reported their targets (initial or final).
    protocol::publish_options options;
    std::vector<protocol::receipt> entries;
    std::size_t acked = 0;
    long reported = 0;
  };
  // The first pending entry of `device` in `r` becomes `to` (an ack, or gone).
  static void settle(request& r, protocol::receipt to);
  using iterator = std::unordered_map<std::uint64_t, request>::iterator;

  std::optional<completion> complete_if_done(iterator it);
  completion finish(iterator it);

  ack::result_limits limits_;
  std::unordered_map<std::uint64_t, request> requests_;
  std::multimap<time_point, std::uint64_t> deadlines_;
  std::uint64_t next_id_ = 1;
};

}  // namespace hf::broker
