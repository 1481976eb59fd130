#include "sim/prefix_cache.hpp"

#include <boost/container_hash/hash.hpp>

namespace splleed::sim {

namespace {
constexpr std::size_t kBlockBytes = static_cast<std::size_t>(kPrefixBlockTokens) * 4;
}  // namespace

std::vector<std::uint64_t> prefix_block_hashes(std::string_view prompt_bytes) {
  std::vector<std::uint64_t> out;
  out.reserve(prompt_bytes.size() / kBlockBytes);
  std::size_t chain = 0;
  for (std::size_t at = 0; at + kBlockBytes <= prompt_bytes.size(); at += kBlockBytes) {
    boost::hash_combine(chain, boost::hash_range(prompt_bytes.begin() + static_cast<std::ptrdiff_t>(at),
                                                 prompt_bytes.begin() + static_cast<std::ptrdiff_t>(at + kBlockBytes)));
    out.push_back(chain);
  }
  return out;
}

std::vector<std::uint64_t> prefix_block_hashes(std::span<const std::int64_t> ids) {
  std::vector<std::uint64_t> out;
  const auto block = static_cast<std::size_t>(kPrefixBlockTokens);
  out.reserve(ids.size() / block);
  // A different seed than text blocks, so ids never collide with bytes by construction.
  std::size_t chain = 0x517cc1b727220a95ull;
  for (std::size_t at = 0; at + block <= ids.size(); at += block) {
    boost::hash_combine(chain, boost::hash_range(ids.begin() + static_cast<std::ptrdiff_t>(at),
                                                 ids.begin() + static_cast<std::ptrdiff_t>(at + block)));
    out.push_back(chain);
  }
  return out;
}

void PrefixCache::touch(std::uint64_t block) {
  auto it = index_.find(block);
  if (it != index_.end()) {
    lru_.splice(lru_.begin(), lru_, it->second);
    return;
  }
  lru_.push_front(block);
  index_.emplace(block, lru_.begin());
}

std::size_t PrefixCache::match(std::span<const std::uint64_t> blocks) {
  std::size_t n = 0;
  while (n < blocks.size() && index_.count(blocks[n]) != 0) ++n;
  // Touch the last matched block first so the chain's head ends up most recent: evicting from
  // the tail then drops a prefix's later blocks before its earlier ones.
  for (std::size_t i = n; i-- > 0;) touch(blocks[i]);
  return n;
}

void PrefixCache::insert(std::span<const std::uint64_t> blocks) {
  if (capacity_ == 0) return;
  for (std::size_t i = blocks.size(); i-- > 0;) touch(blocks[i]);
  while (index_.size() > capacity_) {
    index_.erase(lru_.back());
    lru_.pop_back();
  }
}

}  // namespace splleed::sim
