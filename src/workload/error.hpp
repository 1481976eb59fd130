#pragma once
#include <stdexcept>

namespace splleed::workload {

// Every failure to build a workload: a bad option, an unreadable file, a malformed entry. The
// message names where: "data.jsonl:7: field 'a.b': expected a string", "--input-len: ...".
class WorkloadError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace splleed::workload
