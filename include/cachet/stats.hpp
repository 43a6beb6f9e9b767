// cachet/stats.hpp — counters every cache reports through Cache::stats().
//
// CacheStats is a plain snapshot: the counters are monotonic since the cache was
// created (except the gauges, marked so), read without stopping the cache, and
// each is individually exact though the snapshot is not one atomic cut. Every
// backend fills the same fields the same way; a field a backend has nothing to
// say about stays 0. Figures that belong to one kind of cache only (a circuit
// breaker's state, its journal) come from that cache, e.g. FallbackCache::breaker(). Counting is cheap (per-thread-striped relaxed counters), so
// stats are always on.
#pragma once

#include <cstdint>
#include <string>

#include "cachet/export.hpp"

namespace cachet {

struct CacheStats {
  // --- operations (every backend) ---
  std::uint64_t hits = 0;         ///< get/get_many/contains lookups that found an entry
  std::uint64_t misses = 0;       ///< lookups that found nothing (includes failed lookups)
  std::uint64_t sets = 0;         ///< entries stored by set/add/set_many/increment-created
  std::uint64_t removes = 0;      ///< entries removed by remove/remove_many
  std::uint64_t errors = 0;       ///< backend failures (sum of the errors_* below for Redis)
  std::uint64_t evictions = 0;    ///< entries dropped to respect max_items / max_bytes
  std::uint64_t expirations = 0;  ///< expired entries reclaimed

  // --- loading (get_or_set with LoadOptions; see load_options.hpp) ---
  std::uint64_t stale_served = 0;      ///< calls answered with a stale value (loader failed or timed out)
  std::uint64_t loader_timeouts = 0;   ///< calls that stopped waiting for the loader (soft or hard timeout)
  std::uint64_t background_loads = 0;  ///< loads run on the loader threads (timeouts, eager refresh)
  std::uint64_t eager_refreshes = 0;   ///< background reloads started by eager_refresh
  std::uint64_t lock_waits = 0;        ///< loads that waited for another process's distributed lock
  std::uint64_t lock_timeouts = 0;     ///< waits for a distributed lock that ran out (lock_timeout)

  // --- backend failures by kind (Redis) ---
  std::uint64_t errors_connection = 0;
  std::uint64_t errors_timeout = 0;
  std::uint64_t errors_protocol = 0;
  std::uint64_t errors_reply = 0;
  std::uint64_t errors_pool_exhausted = 0;
  std::uint64_t errors_tls = 0;

  // --- gauges (in-memory backends): current size ---
  std::uint64_t items = 0;  ///< gauge: entries currently held (may include not-yet-reclaimed expired ones)
  std::uint64_t bytes = 0;  ///< gauge: key + value bytes currently held

  /// hits / (hits + misses), 0 when there were no lookups.
  double hit_ratio() const noexcept {
    const auto total = hits + misses;
    return total == 0 ? 0.0 : static_cast<double>(hits) / static_cast<double>(total);
  }

  /// One line, e.g. "hits=10 misses=2 sets=5 ... errors=0".
  CACHET_EXPORT std::string to_string() const;
};

}  // namespace cachet
