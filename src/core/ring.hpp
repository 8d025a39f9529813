// A FIFO in one growable array: push at the back, pop at the front, both
// O(1), elements in order by index. For bounded per-user queues (the
// history's records) where a vector's erase-at-front moves every element
// and a deque costs hundreds of bytes before its first element. Pure.
#pragma once

#include <cstddef>
#include <utility>
#include <vector>

namespace hf::core {

template <class T>
class ring {
 public:
  bool empty() const noexcept { return size_ == 0; }
  std::size_t size() const noexcept { return size_; }
  T& operator[](std::size_t i) noexcept { return slots_[wrap(head_ + i)]; }
  const T& operator[](std::size_t i) const noexcept { return slots_[wrap(head_ + i)]; }
  T& front() noexcept { return (*this)[0]; }
  const T& front() const noexcept { return (*this)[0]; }
  T& back() noexcept { return (*this)[size_ - 1]; }
  const T& back() const noexcept { return (*this)[size_ - 1]; }

  void push_back(T v) {
    if (size_ == slots_.size()) grow();
    slots_[wrap(head_ + size_)] = std::move(v);
    ++size_;
  }
  // The front element is reset to T{} (its resources go now, not when
  // overwritten).
  void pop_front() noexcept {
    slots_[head_] = T{};
    head_ = wrap(head_ + 1);
    if (--size_ == 0) head_ = 0;
  }
  // Gives the memory back (call when empty and likely to stay so).
  void release() noexcept {
    if (size_ == 0) std::vector<T>().swap(slots_), head_ = 0;
  }

 private:
  std::size_t wrap(std::size_t i) const noexcept {
    return i >= slots_.size() ? i - slots_.size() : i;
  }
  void grow() {
    std::vector<T> bigger(slots_.empty() ? 4 : slots_.size() * 2);
    for (std::size_t i = 0; i < size_; ++i) bigger[i] = std::move((*this)[i]);
    slots_ = std::move(bigger);
    head_ = 0;
  }

  std::vector<T> slots_;
  std::size_t head_ = 0, size_ = 0;
};

}  // namespace hf::core
