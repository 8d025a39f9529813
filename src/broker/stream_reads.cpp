#include "broker/stream_reads.hpp"

#include <spdlog/spdlog.h>

#include <memory>

#include "broker/cluster_slots.hpp"
#include "broker/run_script.hpp"
#include "core/log.hpp"

namespace hf::broker {

void stream_reads::read(const std::string& user, std::optional<recovery::stream_position> after,
                        done_fn done) {
  switch (gate_.admit(user, read_gate::clock::now())) {
    case read_gate::verdict::refuse:
      core::log_refusal(spdlog::level::info,
                        "cluster: a recover was answered recovered:false without reading Redis "
                        "(more than {} recovers of one user in {} s, or {} waiting)",
                        read_gate::per_user, read_gate::window.count(), read_gate::max_waiting);
      return done({});
    case read_gate::verdict::wait:
      waiting_.push_back({user, std::move(after), std::move(done)});
      return;
    case read_gate::verdict::run:
      if (!start({user, std::move(after), std::move(done)})) finished();
      return;
  }
}

bool stream_reads::start(pending p) {
  auto done = std::make_shared<done_fn>(std::move(p.done));
  auto call = cmds_.read(p.user, p.after, new_epoch_());
  auto slot = slots::key_slot(call.key());
  bool sent =
      run_script(redis_, std::move(call), [this, done, slot, after = p.after](redisReply* r) {
        auto view = store::read_stream(r, after);
        if (view.ok && redis_.sharded() && !fence_.admit(slot, view.epoch)) view = {};
        (*done)(std::move(view));
        finished();
      });
  if (!sent) (*done)({});
  return sent;
}

void stream_reads::finished() {
  // A loop, not recursion: reads that cannot be sent end at once.
  while (gate_.next()) {
    pending p = std::move(waiting_.front());
    waiting_.pop_front();
    if (start(std::move(p))) return;
  }
}

void stream_reads::redis_lost() {
  auto waiting = std::move(waiting_);
  waiting_.clear();
  gate_.reset();
  for (auto& p : waiting) p.done({});
}

}  // namespace hf::broker
