// Bookkeeping for one publish waiting for its targets' acks (docs/protocol.md
// sections 5 and 12). Pure: no clock, no sockets; the owner (a hub shard)
// feeds it events and asks whether it is complete. Not thread-safe: one
// owner thread.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "ack/result_list.hpp"
#include "protocol/receipts.hpp"

namespace hf::ack {

// A target socket and the device it named (section 11).
struct target {
  std::uint64_t socket = 0;
  std::optional<std::string> device;
};

class ack_collector {
 public:
  // `targets` are the ids of the sockets the envelope was sent to.
  explicit ack_collector(std::vector<std::uint64_t> targets, result_limits limits = {});
  // Section 12: each target with its device, kept for receipts and cancel;
  // complete once `until` targets acked (0: when every target acked or went).
  ack_collector(std::vector<target> targets, result_limits limits, std::uint32_t until);

  // Records the ack of `socket` when it is a target that has neither acked
  // nor gone; acks from strangers and second acks are ignored. Returns true
  // when the ack was recorded. Its result is kept in arrival order, or left
  // out and counted when it does not fit the result limits. `ack_ms`: the
  // time since the publish arrived (kept for receipts).
  bool on_ack(std::uint64_t socket, std::string result_json, std::int64_t ack_ms = 0);

  // `socket` closed or failed: it stops being waited for. Returns true when it
  // was still awaited.
  bool on_gone(std::uint64_t socket);

  // The answer can be sent now: every target has acked or gone, or `until`
  // of them acked.
  bool complete() const noexcept { return outstanding_ == 0 || (until_ && acked_ >= until_); }
  // Every target acked or went (rather than the count being reached).
  bool all_done() const noexcept { return outstanding_ == 0; }
  std::size_t client_count() const noexcept { return targets_.size(); }
  std::size_t outstanding() const noexcept { return outstanding_; }
  std::size_t acked() const noexcept { return acked_; }
  std::vector<std::string>& results() noexcept { return results_.items(); }
  // Acks whose result was left out by the result limits.
  std::size_t dropped() const noexcept { return results_.dropped(); }

  // With targets given as ack::target: every target's receipt, acked first
  // in ack order, then pending, then gone (section 12).
  std::vector<protocol::receipt> receipts() const;
  // The latest ack as a receipt (for a node that reports each ack to the
  // publish's origin as it comes). Requires an ack recorded with devices.
  protocol::receipt last_ack() const;
  // Targets that named a device and neither acked nor went: those a cancel
  // goes to.
  std::vector<std::uint64_t> unacked_named() const;
  // Targets (with their devices) that neither acked nor went: those whose
  // ack may still come as a late_ack (section 14). Requires devices.
  std::vector<target> waiting() const;

 private:
  enum class state : std::uint8_t { waiting, acked, gone };
  // Index of `socket` in targets_, or -1 (binary search: targets_ is sorted, so
  // a 10,000-socket fan-out costs log2(10,000) = 14 steps per ack).
  std::ptrdiff_t find(std::uint64_t socket) const noexcept;

  std::vector<std::uint64_t> targets_;
  std::vector<state> states_;
  result_list results_;
  std::size_t outstanding_;
  std::size_t acked_ = 0;
  std::uint32_t until_ = 0;
  // Section 12's per-target records (by index in targets_): only for a
  // publish that asked for receipts or cancel or gave `until`.
  struct acked_entry {
    std::uint32_t target;
    std::int64_t ack_ms;
    std::int32_t result;  // index in results_, or -1: left out by the limits
  };
  struct book {
    std::vector<std::optional<std::string>> devices;
    std::vector<acked_entry> acks;  // in ack order
  };
  std::unique_ptr<book> book_;
};

}  // namespace hf::ack
