#include "ack/result_list.hpp"

namespace hf::ack {

bool result_list::add(std::string json) {
  // Each kept result also costs a comma in the answer.
  if (json.size() > limits_.max_result_bytes ||
      bytes_ + json.size() + 1 > limits_.max_total_bytes) {
    ++dropped_;
    return false;
  }
  bytes_ += json.size() + 1;
  items_.push_back(std::move(json));
  return true;
}

}  // namespace hf::ack
