#include "optimal.hpp"

#include <cstdint>
#include <limits>
#include <set>
#include <unordered_map>
#include <utility>

namespace cachet::bench {

double optimal_hit_ratio(const std::vector<Op>& trace, std::size_t capacity) {
  const std::size_t n = trace.size();
  if (n == 0 || capacity == 0) return 0;
  const std::size_t len = 2 * n;  // two passes: the first one fills
  constexpr std::size_t kNever = std::numeric_limits<std::size_t>::max();
  std::vector<std::size_t> next_use(len);
  std::unordered_map<std::uint32_t, std::size_t> seen;
  for (std::size_t i = len; i-- > 0;) {
    const std::uint32_t key = op_key(trace[i % n]);
    const auto it = seen.find(key);
    next_use[i] = it == seen.end() ? kNever : it->second;
    seen[key] = i;
  }
  std::set<std::pair<std::size_t, std::uint32_t>> by_next;  // (next use, key) of every cached key
  std::unordered_map<std::uint32_t, std::size_t> cached;     // key -> its entry's next use
  std::uint64_t gets = 0, hits = 0;
  for (std::size_t i = 0; i < len; ++i) {
    const Op op = trace[i % n];
    const std::uint32_t key = op_key(op);
    const auto it = cached.find(key);
    const bool hit = it != cached.end();
    if (i >= n && !op_is_set(op)) {
      ++gets;
      hits += hit ? 1 : 0;
    }
    if (hit) {
      by_next.erase({it->second, key});
    } else if (cached.size() >= capacity) {
      const auto farthest = std::prev(by_next.end());
      if (farthest->first <= next_use[i]) continue;  // this key is the one used last: not admitted
      cached.erase(farthest->second);
      by_next.erase(farthest);
    }
    cached[key] = next_use[i];
    by_next.insert({next_use[i], key});
  }
  return gets ? static_cast<double>(hits) / static_cast<double>(gets) : 0;
}

}  // namespace cachet::bench
