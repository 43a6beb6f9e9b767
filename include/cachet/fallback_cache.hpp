// cachet/fallback_cache.hpp — a cache that survives its backend's outages.
//
// FallbackCache wraps any primary cache (normally a Redis-backed one) and any
// secondary cache (normally an in-memory SimpleCache) behind a circuit breaker.
// It knows them only as `Cache`s; the factory (CACHE_FALLBACK=runtime) composes
// the usual pair. The primary must throw BackendError on backend failures
// (ErrorPolicy::Throw): a fail-open primary would make every outage look like a
// miss. Only failures whose BackendError::is_outage() is true count toward the
// breaker; an answer about one key (WRONGTYPE, not an integer) is the
// operation's miss / false / nullopt and leaves the breaker alone.
//
//   closed    every operation goes to the primary. A backend failure is served
//             by the secondary instead (the caller never sees it) and counted;
//             `failure_threshold` consecutive failures open the breaker.
//   open      every operation goes straight to the secondary — nothing waits
//             for a Redis timeout. Writes and invalidations are recorded in a
//             journal. A background thread probes the primary after `cooldown`
//             (PING, then a test-key round trip); a failed probe reopens the
//             breaker with exponential backoff and jitter, capped by
//             `max_cooldown`. Only one probe runs at a time.
//   half_open the probe succeeded and the journal is being replayed to the
//             primary. Operations are still served by the secondary and
//             journaled until the journal is empty; then the breaker closes
//             and the secondary's entries are dropped (other instances may have
//             written newer values to the primary meanwhile).
//
// The invalidation guarantee: every remove, remove_many, clear and set made
// through this object while the primary was unavailable reaches the primary
// before the breaker closes, in the order they were made (the journal keeps the
// latest operation per key, and a clear supersedes everything before it). If
// the journal overflows `journal_max` keys, recovery clears the primary's whole
// prefix instead — a superset of every invalidation — so nothing stale remains
// under the prefix. Details for the other verbs during an outage:
//   set / set_many  replayed with the value and the remaining TTL they have in
//                   the secondary at replay time; if the secondary already
//                   evicted or expired it, the key is deleted from the primary.
//   add             served by the secondary (atomic only within this process);
//                   replayed like a set of its value.
//   increment       counted in the secondary; a key whose first operation in the
//                   outage was increment is replayed as INCRBY of the summed
//                   deltas, so counters kept in the primary lose no increment;
//                   a key set or removed earlier in the outage is replayed as a
//                   set of its final value.
//   touch           applied to the secondary; replayed as a set of the entry's
//                   value with its new remaining TTL.
//   get / contains / ttl / get_many   answered by the secondary (a miss for
//                   anything not written during the outage).
// What is NOT guaranteed: writes made by OTHER processes during their own
// outages are theirs to replay; an entry written to the primary before the
// outage and not touched during it stays as it was.
//
// Thread safety: safe to share between threads. The state-change callback runs
// on the thread that changed the state (possibly the background prober); it
// must not call back into this cache.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "cachet/cache.hpp"
#include "cachet/export.hpp"
#include "cachet/observer.hpp"

namespace cachet {

// BreakerState and to_string(BreakerState) are in observer.hpp (an observer sees state changes).

/// A snapshot of a FallbackCache's breaker and journal (FallbackCache::breaker()).
/// Counters are monotonic since the cache was created; gauges are marked so.
struct BreakerStats {
  BreakerState state = BreakerState::closed;  ///< gauge: the current state
  std::uint64_t trips = 0;                    ///< closed -> open transitions (a start in the open state counts)
  std::chrono::milliseconds time_open{0};     ///< total time spent not closed (including now)
  std::uint64_t journal_size = 0;             ///< gauge: keys waiting to be replayed
  std::uint64_t journal_overflows = 0;        ///< outages whose journal overflowed (prefix cleared)
  std::uint64_t replays = 0;                  ///< journal entries replayed to the primary
  std::uint64_t secondary_ops = 0;            ///< operations served by the secondary cache

  /// One line, e.g. "breaker=open trips=1 time_open_ms=5012 journal_size=3 ...".
  CACHET_EXPORT std::string to_string() const;
};

struct CACHET_EXPORT FallbackOptions {
  /// Consecutive backend failures that open the breaker. Default 3; must be >= 1.
  int failure_threshold = 3;
  /// Time the breaker stays open before the first probe. Default 5 s; must be > 0.
  std::chrono::milliseconds cooldown{5000};
  /// Upper bound of the backed-off cooldown after failed probes. Default 60 s; >= cooldown.
  std::chrono::milliseconds max_cooldown{60000};
  /// Keys remembered for replay during an outage. Default 10,000; must be >= 1.
  std::size_t journal_max = 10'000;
  /// Start with the breaker open (the factory does this when its probe found
  /// Redis down at start-up): served by the secondary from the first call; the
  /// first probe runs right away, or after `cooldown` when
  /// `probe_immediately_when_started_open` is false. Logged at info level (the
  /// owner knows why it started open). Default false.
  bool start_open = false;
  /// With start_open, probe at once instead of after the first cooldown. Default true.
  bool probe_immediately_when_started_open = true;
  /// Called on every state change (from, to). Default: none.
  std::function<void(BreakerState from, BreakerState to)> on_state_change;

  /// Throws ConfigError naming the first invalid field.
  void validate() const;
};

class CACHET_EXPORT FallbackCache final : public Cache {
 public:
  /// Wraps `primary`, which must throw BackendError on backend failures, and
  /// `secondary`. Throws std::invalid_argument for null pointers and
  /// ConfigError for invalid options. If the journal may overflow, recovery
  /// calls primary->clear(): give the primary a key prefix (or let it flush its
  /// database), or recovery after an overflow cannot complete.
  FallbackCache(std::unique_ptr<Cache> primary, std::unique_ptr<Cache> secondary, FallbackOptions options = {});

  ~FallbackCache() override;

  std::string_view backend() const noexcept override { return "fallback"; }

  /// Current breaker state.
  BreakerState state() const noexcept;
  /// The breaker's and the journal's figures. stats() holds what every cache
  /// reports (hits, misses, errors of the primary by kind, and the secondary's
  /// items and bytes).
  BreakerStats breaker() const;
  /// The primary's backend name (e.g. "redis") and the secondary's (e.g. "simple").
  std::string_view primary_backend() const noexcept;
  std::string_view secondary_backend() const noexcept;

  /// Probes the primary now (blocking, bounded by its timeouts) and, on
  /// success, replays the journal and closes the breaker. True when closed
  /// afterwards. Mostly for tests and operators; the background prober does
  /// this by itself.
  bool probe_now();

 protected:
  void fill_stats(CacheStats& stats) const override;
  /// cachet_breaker_state, cachet_breaker_trips_total, cachet_journal_keys, ...
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

  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace cachet
