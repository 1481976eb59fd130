#include "load/target_client.hpp"

namespace splleed::load {

net::ClientOptions client_options(const TargetConfig& t) {
  net::ClientOptions o;
  o.connect_timeout = t.connect_timeout;
  o.read_timeout = t.read_timeout;
  o.insecure = t.insecure;
  return o;
}

std::string authorization(const TargetConfig& t) {
  return t.api_key.empty() ? std::string() : "Bearer " + t.api_key;
}

}  // namespace splleed::load
