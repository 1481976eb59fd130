#pragma once
// How every client of the target connects (the benchmark's workers and probe, the engine
// profiler, the server tokenizer, the metrics scraper): one place for its options and its key.
#include <string>

#include "net/http_client.hpp"
#include "splleed/config.hpp"

namespace splleed::load {

// Connect and read timeouts and the TLS setting of `t`.
net::ClientOptions client_options(const TargetConfig& t);

// The Authorization header's value, "Bearer <api_key>"; empty when `t` has no key (send none).
std::string authorization(const TargetConfig& t);

}  // namespace splleed::load
