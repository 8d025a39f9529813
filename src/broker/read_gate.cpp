#include "broker/read_gate.hpp"

namespace hf::broker {

read_gate::verdict read_gate::admit(const std::string& user, clock::time_point now) {
  if (now - window_start_ >= window) {
    window_start_ = now;
    asked_.clear();  // bounded: at most the users that asked in one window
  }
  if (++asked_[user] > per_user) return verdict::refuse;
  if (running_ < max_running) {
    ++running_;
    return verdict::run;
  }
  if (waiting_ >= max_waiting) return verdict::refuse;
  ++waiting_;
  return verdict::wait;
}

bool read_gate::next() {
  if (running_ > 0) --running_;
  if (waiting_ == 0 || running_ >= max_running) return false;
  --waiting_;
  ++running_;
  return true;
}

}  // namespace hf::broker
