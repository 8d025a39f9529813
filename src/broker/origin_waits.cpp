#include "broker/origin_waits.hpp"

#include <spdlog/spdlog.h>

#include "broker/cluster_wire.hpp"
#include "core/log.hpp"

namespace hf::broker {

origin_waits::origin_waits(boost::asio::io_context& ioc, ack::result_limits limits)
    : requests_(limits), timer_(ioc) {}

std::uint64_t origin_waits::open(clock::time_point deadline, std::string envelope_id,
                                 hub::delivery_callback done, protocol::publish_options options) {
  auto id = requests_.open(deadline, std::move(envelope_id), std::move(done), options);
  arm();
  return id;
}

void origin_waits::expect(std::uint64_t id, std::size_t nodes, clock::duration rtt) {
  // Written by this thread only: relaxed load + store.
  rtt_ns_.store(rtt_ns_.load(std::memory_order_relaxed) +
                    std::uint64_t(std::chrono::nanoseconds(rtt).count()),
                std::memory_order_relaxed);
  rtt_count_.store(rtt_count_.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
  complete(requests_.expect(id, nodes));
}

void origin_waits::lost(std::uint64_t id) { requests_.lost(id); }

void origin_waits::answer(std::uint64_t id, std::string_view envelope_id, std::uint64_t count,
                          std::uint64_t dropped, std::vector<std::string> results) {
  complete(requests_.answer(id, envelope_id, count, dropped, std::move(results)));
}

void origin_waits::on_answer(std::string_view payload, const reply_channels& replies) {
  auto a = wire::decode_answer(payload);
  if (!a || !replies.mine(a->incarnation)) {
    core::log_refusal(spdlog::level::warn, "cluster: ignored a malformed node answer");
    return;
  }
  if (a->receipts) return receipts(std::move(*a));
  answer(a->request, a->envelope_id, a->count, a->dropped, std::move(a->results));
}

void origin_waits::receipts(wire::node_answer a) {
  complete(requests_.receipts(a.request, a.envelope_id, a.step, a.count, a.dropped,
                              std::move(a.entries)));
}

std::optional<hub::delivery_callback> origin_waits::withdraw(std::uint64_t id) {
  auto d = requests_.withdraw(id);
  arm();
  return d;
}

void origin_waits::shorten(clock::time_point by) {
  requests_.shorten(by);
  arm();
}

void origin_waits::finish_all() {
  for (auto& c : requests_.take_all()) c.done(std::move(c.result));
  timer_.cancel();
  armed_for_.reset();
}

void origin_waits::complete(std::optional<answer_collector::completion> c) {
  if (!c) return;
  c->done(std::move(c->result));
  arm();
}

void origin_waits::arm() {
  auto next = requests_.next_deadline();
  if (next == armed_for_) return;
  armed_for_ = next;
  if (!next) return void(timer_.cancel());
  timer_.expires_at(*next);  // cancels the previous wait
  timer_.async_wait([this](boost::system::error_code ec) {
    if (ec) return;
    armed_for_.reset();
    for (auto& c : requests_.expire(clock::now())) c.done(std::move(c.result));
    arm();
  });
}

}  // namespace hf::broker
