#include "net/idle_queue.hpp"

#include <algorithm>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/post.hpp>
#include <utility>

namespace splleed::net {

namespace asio = boost::asio;

namespace {
thread_local IdleQueue* tls_queue = nullptr;
}  // namespace

IdleQueue* IdleQueue::current() noexcept { return tls_queue; }

IdleQueue* IdleQueue::install(IdleQueue* q) noexcept { return std::exchange(tls_queue, q); }

asio::awaitable<void> IdleQueue::wait(IdleWaiter& w) {
  return asio::async_initiate<const asio::use_awaitable_t<>&, void()>(
      [this, &w](ResumeHandler handler) {
        w.handler.emplace(std::move(handler));
        push(w);
      },
      asio::use_awaitable);
}

void IdleQueue::push(IdleWaiter& w) {
  if (size_ == ring_.size()) {  // grow: unroll the ring into one twice as large
    std::vector<IdleWaiter*> bigger(std::max<std::size_t>(16, ring_.size() * 2), nullptr);
    for (std::size_t i = 0; i < size_; ++i) bigger[i] = ring_[(head_ + i) & (ring_.size() - 1)];
    ring_ = std::move(bigger);
    head_ = 0;
  }
  ring_[(head_ + size_) & (ring_.size() - 1)] = &w;
  ++size_;
}

std::size_t IdleQueue::release(std::size_t max) {
  std::size_t n = 0;
  for (; n < max && size_ > 0; ++n) {
    IdleWaiter* w = ring_[head_];
    head_ = (head_ + 1) & (ring_.size() - 1);
    --size_;
    // Moved out first: the handler owns the coroutine, which may own the waiter.
    ResumeHandler handler = std::move(*w->handler);
    w->handler.reset();
    const auto ex = asio::get_associated_executor(handler);
    asio::post(ex, std::move(handler));
  }
  return n;
}

}  // namespace splleed::net
