#include "sim/send_log.hpp"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <iterator>
#include <memory>
#include <stdexcept>

#include <fmt/format.h>

namespace splleed::sim {

SendLog::SendLog(bool enabled) : enabled_(enabled) {
  if (enabled_) {
    ids_.reserve(4096);
    records_.reserve(1 << 16);
  }
}

std::uint32_t SendLog::add_request(std::string id) {
  if (!enabled_) return 0;
  ids_.push_back(std::move(id));
  return static_cast<std::uint32_t>(ids_.size() - 1);
}

std::size_t SendLog::add(std::uint32_t request, std::uint32_t seq, Nanos before) {
  if (!enabled_) return kNone;
  records_.push_back(Record{request, seq, before, kPending});
  return records_.size() - 1;
}

void SendLog::complete(std::size_t index, Nanos after) noexcept {
  if (index < records_.size()) records_[index].after = after;
}

void SendLog::append_to(std::vector<SendLogEntry>& out) const {
  for (const Record& r : records_) {
    if (r.after == kPending) continue;
    out.push_back(SendLogEntry{ids_[r.request], r.seq, r.before, r.after});
  }
}

void write_send_log(const std::string& path, const std::vector<SendLogEntry>& entries) {
  auto fail = [&](int err) {
    return std::runtime_error("cannot write the send log to " + path + ": " + std::strerror(err) + ".");
  };
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> f(std::fopen(path.c_str(), "w"), &std::fclose);
  if (!f) throw fail(errno);
  fmt::memory_buffer buf;
  auto flush = [&] {
    if (std::fwrite(buf.data(), 1, buf.size(), f.get()) != buf.size()) throw fail(errno);
    buf.clear();
  };
  fmt::format_to(fmt::appender(buf), "# request_id seq before_ns after_ns\n");
  for (const auto& e : entries) {
    for (char c : e.request_id) buf.push_back(c == ' ' || c == '\t' || c == '\n' || c == '\r' ? '_' : c);
    fmt::format_to(fmt::appender(buf), " {} {} {}\n", e.seq, e.before_write, e.after_write);
    if (buf.size() > (1 << 16)) flush();
  }
  flush();
  std::FILE* raw = f.release();
  if (std::fclose(raw) != 0) throw fail(errno);
}

}  // namespace splleed::sim
