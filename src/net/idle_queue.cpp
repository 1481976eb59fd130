#include "net/idle_queue.hpp"

#include <algorithm>
#include <utility>

namespace splleed::net {

namespace {
thread_local IdleQueue* tls_queue = nullptr;
}  // namespace

IdleQueue* IdleQueue::current() noexcept { return tls_queue; }

IdleQueue* IdleQueue::install(IdleQueue* q) noexcept { return std::exchange(tls_queue, q); }

void IdleQueue::defer(IdleTask& task) {
  if (size_ == ring_.size()) {  // grow: unroll the ring into one twice as large
    std::vector<IdleTask*> bigger(std::max<std::size_t>(16, ring_.size() * 2), nullptr);
    for (std::size_t i = 0; i < size_; ++i) bigger[i] = ring_[(head_ + i) & (ring_.size() - 1)];
    ring_ = std::move(bigger);
    head_ = 0;
  }
  ring_[(head_ + size_) & (ring_.size() - 1)] = &task;
  ++size_;
}

IdleTask* IdleQueue::pop() noexcept {
  IdleTask* task = ring_[head_];
  head_ = (head_ + 1) & (ring_.size() - 1);
  --size_;
  return task;
}

std::size_t IdleQueue::release(std::size_t max) {
  // Only the tasks queued now: one that defers again while it runs waits for the next release.
  const std::size_t n = std::min(max, size_);
  for (std::size_t i = 0; i < n; ++i) pop()->run_deferred();
  return n;
}

void IdleQueue::post_all() {
  while (size_ > 0) pop()->post_deferred();
}

}  // namespace splleed::net
