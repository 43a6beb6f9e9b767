// bench/optimal.hpp — the offline-optimal (Belady) hit ratio of a request
// trace: the best any cache of a given capacity could do on it, knowing the
// future. The yardstick for what a hit ratio, and so a speed-up that depends
// on it, can reach at all.
#pragma once

#include <cstddef>
#include <vector>

#include "workload.hpp"

namespace cachet::bench {

/// The share of gets that hit in a cache of `capacity` items that evicts the
/// item used farthest in the future (or does not admit the requested one when
/// that one is used later still). Sets store their key, as in a write-through
/// cache. `trace` is taken as repeating: the ratio is that of the second pass,
/// after the first one filled the cache. Time and memory O(length log capacity).
double optimal_hit_ratio(const std::vector<Op>& trace, std::size_t capacity);

}  // namespace cachet::bench
