#pragma once
// A stream for the tests that a steady-state read allocates nothing: the server answers one
// request with kSteadyEvents small SSE events, writing each once the client's handler has the one
// before (so each arrives in a read of its own), and the handler records the thread's allocation
// count at every read. Client and server share the test's io_context and thread.
#include <array>
#include <cstdint>
#include <sstream>
#include <string>
#include <vector>

#include "net/alloc_counter.hpp"
#include "net/http_client.hpp"
#include "net/test_server.hpp"

namespace splleed::net::testing {

inline constexpr std::size_t kSteadyEvents = 60;

class CountingHandler final : public ResponseHandler {
 public:
  explicit CountingHandler(Gate& gate) : gate_(gate) {}
  void on_dispatched(Nanos) override {}
  void on_headers(Nanos, int) override { gate_.notify(); }
  bool on_body(std::string_view bytes, Nanos) override {
    received += bytes.size();
    if (reads < marks.size()) marks[reads] = allocations_on_this_thread();
    ++reads;
    gate_.notify();
    return true;
  }
  std::size_t received = 0;  // body bytes
  std::size_t reads = 0;
  std::array<std::uint64_t, 64> marks{};  // allocations on this thread at each read

 private:
  Gate& gate_;
};

// The server's script for that stream.
inline TestServer::Script steady_stream(Gate& gate, CountingHandler& handler) {
  std::vector<std::string> chunks;
  std::vector<std::size_t> payload_sizes;
  for (std::size_t i = 0; i < kSteadyEvents; ++i) {
    const std::string payload = "data: {\"token\":" + std::to_string(i) + "}\n\n";
    std::ostringstream chunk;
    chunk << std::hex << payload.size() << "\r\n" << payload << "\r\n";
    chunks.push_back(chunk.str());
    payload_sizes.push_back(payload.size());
  }
  return [&gate, &handler, chunks, payload_sizes](ServerConn& c) -> asio::awaitable<void> {
    co_await c.read_request();
    co_await c.write(
        "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n");
    std::size_t sent = 0;
    for (std::size_t i = 0; i < chunks.size(); ++i) {
      co_await c.write(chunks[i]);
      sent += payload_sizes[i];
      co_await gate.wait([&] { return handler.received >= sent; });
    }
    co_await c.write("0\r\n\r\n");
    co_await c.wait_for_close();
  };
}

}  // namespace splleed::net::testing
