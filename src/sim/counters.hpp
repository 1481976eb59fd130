#pragma once
// Per-replica counters behind SimServer::stats(). Each is written by its replica's thread only and
// may be read from any thread: with one writer an update is a relaxed load and store (no locked
// read-modify-write on the token path) and readers still see whole values.
#include <algorithm>
#include <atomic>
#include <cstdint>

#include "sim/sim_server.hpp"

namespace splleed::sim {

class Counter {
 public:
  void add(std::uint64_t n = 1) noexcept {
    v_.store(v_.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  }
  void raise_to(std::uint64_t x) noexcept {
    if (x > v_.load(std::memory_order_relaxed)) v_.store(x, std::memory_order_relaxed);
  }
  std::uint64_t get() const noexcept { return v_.load(std::memory_order_relaxed); }

 private:
  std::atomic<std::uint64_t> v_{0};
};

struct Counters {
  Counter connections_accepted, requests_received, generations_started, generations_finished,
      generations_cancelled, faults_injected, tokens_generated, token_events, events, writes_blocked,
      decode_steps, max_queue_length, max_running;

  void add_to(SimStats& s) const noexcept {
    s.connections_accepted += connections_accepted.get();
    s.requests_received += requests_received.get();
    s.generations_started += generations_started.get();
    s.generations_finished += generations_finished.get();
    s.generations_cancelled += generations_cancelled.get();
    s.faults_injected += faults_injected.get();
    s.tokens_generated += tokens_generated.get();
    s.token_events += token_events.get();
    s.events += events.get();
    s.writes_blocked += writes_blocked.get();
    s.decode_steps += decode_steps.get();
    s.max_queue_length = std::max(s.max_queue_length, max_queue_length.get());
    s.max_running = std::max(s.max_running, max_running.get());
  }
};

}  // namespace splleed::sim
