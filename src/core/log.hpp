// Logging of refusals (bad requests, bad tokens, closed sockets) with a
// budget: a flood of bad input must not become a flood of log lines. Each
// thread may write `per_second` such lines a second; the rest are counted and
// reported in one line when lines flow again.
#pragma once

#include <spdlog/spdlog.h>

#include <chrono>
#include <cstdint>

namespace hf::core {

class log_budget {
 public:
  explicit log_budget(std::uint32_t per_second = 20) : per_second_(per_second) {}

  // True when one more line may be written at `now`.
  bool allow(std::chrono::steady_clock::time_point now) noexcept {
    if (now - window_ >= std::chrono::seconds(1)) {
      window_ = now;
      used_ = 0;
    }
    if (used_ < per_second_) {
      ++used_;
      return true;
    }
    ++suppressed_;
    return false;
  }
  // Lines suppressed since the last call.
  std::uint64_t take_suppressed() noexcept {
    std::uint64_t n = suppressed_;
    suppressed_ = 0;
    return n;
  }

 private:
  std::uint32_t per_second_;
  std::uint32_t used_ = 0;
  std::uint64_t suppressed_ = 0;
  std::chrono::steady_clock::time_point window_{};
};

// Logs a refusal at `level` within this thread's budget.
template <class... Args>
void log_refusal(spdlog::level::level_enum level, spdlog::format_string_t<Args...> fmt,
                 Args&&... args) {
  thread_local log_budget budget;
  if (!spdlog::should_log(level) || !budget.allow(std::chrono::steady_clock::now())) return;
  if (auto n = budget.take_suppressed()) spdlog::log(level, "({} similar messages suppressed)", n);
  spdlog::log(level, fmt, std::forward<Args>(args)...);
}

}  // namespace hf::core
