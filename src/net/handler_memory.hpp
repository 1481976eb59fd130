#pragma once
// Memory for one outstanding asio operation at a time, given to asio through the completion
// handler's associated allocator. A connection reads one response at a time, so its read
// operation can always live in the same block: a read then allocates nothing, even when thousands
// of connections complete reads together (asio's own per-thread recycling keeps only a couple of
// freed blocks, so a burst of reads would otherwise go to malloc). An operation larger than the
// block, or a second one while the block is in use, falls back to operator new.
//
// This is asio's documented custom-allocation pattern; asio ships it only as an example, which is
// why it is written here.
#include <cstddef>
#include <new>

namespace splleed::net {

class HandlerMemory {
 public:
  HandlerMemory() = default;
  HandlerMemory(const HandlerMemory&) = delete;
  HandlerMemory& operator=(const HandlerMemory&) = delete;

  void* allocate(std::size_t size) {
    if (!in_use_ && size <= sizeof storage_) {
      in_use_ = true;
      return storage_;
    }
    return ::operator new(size);
  }
  void deallocate(void* p) noexcept {
    if (p == storage_) {
      in_use_ = false;
    } else {
      ::operator delete(p);
    }
  }

 private:
  // Room for a socket read operation with its handler (a TLS read's is larger still); sized with
  // margin over what asio needs for the plain-socket read today.
  alignas(std::max_align_t) unsigned char storage_[1024];
  bool in_use_ = false;
};

// A standard allocator over a HandlerMemory, for a handler's get_allocator().
template <class T>
class HandlerAllocator {
 public:
  using value_type = T;
  explicit HandlerAllocator(HandlerMemory& memory) noexcept : memory_(&memory) {}
  template <class U>
  HandlerAllocator(const HandlerAllocator<U>& other) noexcept : memory_(other.memory_) {}

  T* allocate(std::size_t n) { return static_cast<T*>(memory_->allocate(sizeof(T) * n)); }
  void deallocate(T* p, std::size_t) noexcept { memory_->deallocate(p); }

  template <class U>
  bool operator==(const HandlerAllocator<U>& other) const noexcept {
    return memory_ == other.memory_;
  }

 private:
  template <class>
  friend class HandlerAllocator;
  HandlerMemory* memory_;
};

}  // namespace splleed::net
