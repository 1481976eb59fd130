#pragma once
// The simulated engine's prefix cache: prompt blocks (kPrefixBlockTokens tokens each) identified by
// chained hashes, so block i's hash stands for the whole prefix up to and including block i, as in
// vLLM's automatic prefix caching. Least recently used blocks are evicted beyond the capacity.
// A replica's own cache (one thread); lookups and inserts happen once per prefill, not per token.
#include <cstdint>
#include <list>
#include <span>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace splleed::sim {

inline constexpr std::int64_t kPrefixBlockTokens = 16;

// Chained hashes of the full blocks of a text prompt under the simulator's tokenizer (4 bytes a
// token, so a block is 64 bytes); a trailing partial block is not cacheable, as in vLLM.
std::vector<std::uint64_t> prefix_block_hashes(std::string_view prompt_bytes);
// The same over token ids (16 ids a block).
std::vector<std::uint64_t> prefix_block_hashes(std::span<const std::int64_t> token_ids);

class PrefixCache {
 public:
  explicit PrefixCache(std::size_t capacity_blocks) : capacity_(capacity_blocks) {}

  // How many leading blocks are cached; those become the most recently used.
  std::size_t match(std::span<const std::uint64_t> blocks);
  // Caches every block (the most recently used first to go last), evicting the least recently
  // used beyond the capacity.
  void insert(std::span<const std::uint64_t> blocks);
  std::size_t size() const noexcept { return index_.size(); }

 private:
  void touch(std::uint64_t block);
  // An LRU list plus an index; neither Boost nor the standard library has an LRU container.
  std::size_t capacity_;
  std::list<std::uint64_t> lru_;  // front: most recently used
  std::unordered_map<std::uint64_t, std::list<std::uint64_t>::iterator> index_;
};

}  // namespace splleed::sim
