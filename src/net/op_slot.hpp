// Memory inside a long-lived object for its one pending asynchronous
// operation, as Asio's handler-allocation examples do: an idle WebSocket
// always has a read pending, and without this its operation is a separate
// block (from Asio's per-thread cache of recycled blocks, which hands out
// whatever larger block it has: 208 to 480 bytes for a ~130-byte operation).
// With it, the operation lives in the session, and a read costs no
// allocation at all. An operation larger than the slot, or a second one
// while the first is pending, falls back to the heap.
//
// Safe with Asio's order of events: an operation's memory is given back
// before its handler (which keeps the owning object alive) runs or is
// destroyed.
#pragma once

#include <cstddef>
#include <new>

namespace hf::net {

template <std::size_t Size>
class op_slot {
 public:
  op_slot() = default;
  op_slot(const op_slot&) = delete;
  op_slot& operator=(const op_slot&) = delete;

  void* allocate(std::size_t n) {
    if (!used_ && n <= Size) {
      used_ = true;
      return storage_;
    }
    return ::operator new(n);
  }
  void deallocate(void* p) noexcept {
    if (p == static_cast<void*>(storage_))
      used_ = false;
    else
      ::operator delete(p);
  }

 private:
  alignas(std::max_align_t) unsigned char storage_[Size];
  bool used_ = false;
};

// The allocator a handler is bound to (boost::asio::bind_allocator) so that
// its operation is made in `slot`.
template <class T, std::size_t Size>
struct slot_allocator {
  using value_type = T;
  template <class U>
  struct rebind {
    using other = slot_allocator<U, Size>;
  };
  op_slot<Size>* slot;

  explicit slot_allocator(op_slot<Size>& s) noexcept : slot(&s) {}
  template <class U>
  slot_allocator(const slot_allocator<U, Size>& other) noexcept : slot(other.slot) {}

  T* allocate(std::size_t n) { return static_cast<T*>(slot->allocate(n * sizeof(T))); }
  void deallocate(T* p, std::size_t) noexcept { slot->deallocate(p); }

  friend bool operator==(const slot_allocator& a, const slot_allocator& b) noexcept {
    return a.slot == b.slot;
  }
};

}  // namespace hf::net
