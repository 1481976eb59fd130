#pragma once
// The send log of one replica: for each event written, the clock just before the first write
// attempt and just after the kernel took its last byte. Appending is amortised O(1) into
// pre-reserved vectors (request ids are stored once per request, not per event).
#include <cstdint>
#include <string>
#include <vector>

#include "sim/sim_server.hpp"

namespace splleed::sim {

class SendLog {
 public:
  static constexpr std::size_t kNone = static_cast<std::size_t>(-1);

  explicit SendLog(bool enabled);
  bool enabled() const noexcept { return enabled_; }
  std::uint32_t add_request(std::string id);
  // Returns the record's index (kNone when disabled); its write completes with complete().
  std::size_t add(std::uint32_t request, std::uint32_t seq, Nanos before);
  void complete(std::size_t index, Nanos after) noexcept;
  // Appends the completed records.
  void append_to(std::vector<SendLogEntry>& out) const;

 private:
  struct Record {
    std::uint32_t request;
    std::uint32_t seq;
    Nanos before;
    Nanos after;  // kPending until the write completes
  };
  static constexpr Nanos kPending = -1;
  bool enabled_;
  std::vector<std::string> ids_;
  std::vector<Record> records_;
};

// Writes `# request_id seq before_ns after_ns` then one line per entry. Whitespace inside an id
// is written as '_' so every line keeps four fields. Throws std::runtime_error on failure.
void write_send_log(const std::string& path, const std::vector<SendLogEntry>& entries);

}  // namespace splleed::sim
