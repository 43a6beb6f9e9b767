// cachet/hybrid_cache.hpp — an in-process L1 in front of a shared L2, kept
// coherent across processes by invalidation messages.
//
// HybridCache answers get() from its L1 (normally a SimpleCache: memory speed)
// and fills L1 from its L2 (normally a RedisCache, or a FallbackCache around
// one) on a miss. Writes go to L2 first, then update or drop the L1 entry.
// An InvalidationChannel (invalidation.hpp) reports keys changed by anyone
// — other cachet processes, other programs, redis-cli — and each such key is
// dropped from L1. It knows L1, L2 and the channel only by their interfaces;
// the factory (CACHE_TYPE=hybrid) composes the usual set.
//
// Guarantees (docs/hybrid.md has the timeline of each):
//   - A value fetched from L2 while an invalidation of its key (or a flush,
//     or a channel loss) is being processed is not installed in L1: every key
//     maps to one of 4096 invalidation sequences, read before the L2 fetch
//     and checked after the install.
//   - A flush of the server clears L1.
//   - While the channel is lost, L1 is bypassed (reads go to L2); it is
//     cleared before it is used again. A silently dead channel is noticed
//     within about one heartbeat: the only window in which a stale L1 entry
//     can be served (besides the message's own transit, well under 1 ms on
//     loopback).
//   - No L1 entry lives longer than l1_max_ttl, whatever else fails.
//   - L2 sees every write; L1 never holds a value L2 did not acknowledge.
// Composed with FallbackCache (the factory's CACHE_FALLBACK=runtime): the L2
// is a FallbackCache whose secondary is this L1, so during an outage L1 is
// what serves (one memory budget), writes are journaled and replayed, and
// after recovery L1 is cleared.
//
// Reads pass stored bytes through (get_stored), so get_or_set entries with a
// fail-safe header keep it; the lock of get_or_set's distributed_lock lives in L2.
//
// Thread safety: safe to share between threads. The channel's thread drops L1
// entries concurrently with readers. Failures of L2 follow L2's policy (a
// fail-open L2 makes them misses / false; a throwing one throws through).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "cachet/cache.hpp"
#include "cachet/export.hpp"
#include "cachet/invalidation.hpp"

namespace cachet {

class HybridCache;
namespace detail {
void attach_outage_store(HybridCache& cache, std::shared_ptr<const std::atomic<bool>> in_use);
}  // namespace detail

struct HybridOptions {
  /// Longest life of an L1 entry, whatever its TTL in L2. Default 60 s;
  /// 1 ms to 1 day. An entry written through this cache with a shorter TTL
  /// keeps that TTL in L1 too.
  std::chrono::milliseconds l1_max_ttl{60'000};
  /// Must be true to build a HybridCache without a channel (mode `none`):
  /// other processes' writes are then seen only after l1_max_ttl. Default false.
  bool without_invalidation = false;

  /// Throws ConfigError naming the invalid field.
  void validate() const;
};

/// Figures of a HybridCache (HybridCache::hybrid_stats()). Counters since
/// creation; gauges marked so.
struct HybridStats {
  InvalidationMode mode = InvalidationMode::none;  ///< the mode in force
  std::string mode_reason;                         ///< why (see InvalidationChannel::mode_reason)
  bool l1_in_use = false;                          ///< gauge: false while L1 is bypassed (channel lost)
  std::uint64_t l1_hits = 0;                       ///< lookups answered by L1
  std::uint64_t l2_hits = 0;                       ///< lookups answered by L2
  std::uint64_t misses = 0;                        ///< lookups found in neither
  std::uint64_t invalidations = 0;                 ///< keys reported changed by the channel
  std::uint64_t flushes = 0;                       ///< server flushes reported by the channel
  std::uint64_t l1_clears_flush = 0;               ///< L1 cleared because the server was flushed
  std::uint64_t l1_clears_channel_loss = 0;        ///< L1 cleared before reuse after the channel was lost
  std::uint64_t l1_clears_recovery = 0;            ///< L1 cleared after an outage of L2 (with the channel)
  std::uint64_t channel_losses = 0;                ///< times the channel was lost
  std::uint64_t stale_installs_prevented = 0;      ///< L1 fills skipped: an invalidation arrived during the fetch

  /// One line, e.g. "mode=bcast l1_in_use=yes l1_hits=10 ...".
  CACHET_EXPORT std::string to_string() const;
};

/// The outcome of HybridCache::check_coherence().
struct CoherenceCheck {
  bool ok = false;
  InvalidationMode mode = InvalidationMode::none;
  std::chrono::microseconds latency{0};  ///< from the outside write to the invalidation arriving
  std::string detail;                    ///< what was done, or why it failed
};

class CACHET_EXPORT HybridCache final : public Cache {
 public:
  /// `l1`: the in-process cache; `l2`: the shared one; `channel`: reports
  /// changes of L2's keys (null only with options.without_invalidation).
  /// Starts the channel (bounded by its connection timeouts; never throws
  /// for an unreachable server: L1 is then bypassed until the channel is up).
  /// std::invalid_argument for null caches or a missing channel; ConfigError
  /// for invalid options.
  HybridCache(std::shared_ptr<Cache> l1, std::unique_ptr<Cache> l2, std::unique_ptr<InvalidationChannel> channel,
              HybridOptions options = {});
  ~HybridCache() override;

  std::string_view backend() const noexcept override { return "hybrid"; }
  /// The L1's and L2's backend names ("simple", "redis" / "fallback").
  std::string_view l1_backend() const noexcept;
  std::string_view l2_backend() const noexcept;
  /// The coherence figures (stats() holds what every cache reports).
  HybridStats hybrid_stats() const;
  /// The mode in force (none without a channel).
  InvalidationMode mode() const noexcept;

  /// End to end: stores a test key through L2, reads it into L1, has the
  /// channel write it from another connection and waits (at most `timeout`)
  /// for the invalidation to drop it from L1. Removes the key. Never throws
  /// for a backend failure.
  CoherenceCheck check_coherence(std::chrono::milliseconds timeout = std::chrono::milliseconds(2000));

 protected:
  void fill_stats(CacheStats& stats) const override;
  /// cachet_l1_hits_total, cachet_l2_hits_total, cachet_invalidations_total,
  /// cachet_l1_clears_total{cause}, cachet_invalidation_channel_losses_total,
  /// cachet_stale_installs_prevented_total, cachet_l1_in_use (docs/observability.md).
  void collect_metrics(MetricsWriter& out) const override;

 private:
  Value do_get(std::string_view key) override;
  bool do_set(std::string_view key, std::string_view value, Ttl ttl) override;
  bool do_add(std::string_view key, std::string_view value, Ttl ttl) override;
  bool do_remove(std::string_view key) override;
  bool do_contains(std::string_view key) override;
  std::vector<Value> do_get_many(const KeyList& keys) override;
  bool do_set_many(const ItemList& items, Ttl ttl) override;
  std::size_t do_remove_many(const KeyList& keys) override;
  std::optional<std::int64_t> do_increment(std::string_view key, std::int64_t delta) override;
  std::optional<Ttl> do_ttl(std::string_view key) override;
  bool do_touch(std::string_view key, Ttl ttl) override;
  bool do_clear() override;
  bool do_ping() override;
  Ttl do_default_timeout() const noexcept override;
  LockResult do_try_lock(std::string_view lock_key, std::string_view token, Ttl ttl) override;
  void do_unlock(std::string_view lock_key, std::string_view token) override;

  friend void detail::attach_outage_store(HybridCache& cache, std::shared_ptr<const std::atomic<bool>> in_use);

  struct Impl;
  std::unique_ptr<Impl> impl_;
};

namespace detail {
/// For the factory's runtime composition, where the L1 is also the secondary
/// of the FallbackCache that is the L2: `in_use` is true while that secondary
/// holds writes of an outage (the journal replays them from it), and the
/// hybrid then never removes anything from its L1 (an invalidation, a lost
/// install race) — that would turn a journaled write into a delete. Call once,
/// before the cache is used.
CACHET_EXPORT void attach_outage_store(HybridCache& cache, std::shared_ptr<const std::atomic<bool>> in_use);

/// Test hook (tests/internal): called between a get's L2 fetch and its L1
/// install, with the key. Null (default) in production. Not thread-safe to set
/// while the cache is used.
CACHET_EXPORT void set_hybrid_fill_hook(void (*hook)(std::string_view key));
}  // namespace detail

}  // namespace cachet
