// cachet/observer.hpp — hooks for tracing: what a cache tells an application
// about each operation, failure, breaker change and eviction batch.
//
// Register a CacheObserver with Cache::set_observer() to bridge cachet into
// OpenTelemetry spans, your own tracing or logs (docs/observability.md shows
// an OpenTelemetry bridge). Every method has an empty default, so an observer
// overrides only what it needs.
//
// Guarantees: the cache calls its observer on the thread that did the work
// (an application thread, a loader thread, or FallbackCache's prober), never
// while it holds one of its own locks, so an observer may call back into the
// cache. An exception thrown by an observer is caught, logged (rate-limited)
// and otherwise ignored: it never reaches the caller of the cache operation
// and never changes its result. Observers are called concurrently from many
// threads: they must be thread-safe. They run inline, so their cost adds to
// the operation's; while an observer is registered every timed operation
// (see Op) reads the clock, not just a sample of them.
#pragma once

#include <chrono>
#include <cstdint>
#include <string_view>

#include "cachet/errors.hpp"
#include "cachet/export.hpp"

namespace cachet {

class Cache;

/// The kinds of operation cachet times and counts, one label value each
/// (cachet_operation_duration_seconds{op="get"}, ...). contains, ttl, touch,
/// clear and ping are neither timed nor reported.
enum class Op : int {
  get,          ///< get, get_stored, get_as
  set,          ///< set, set_as
  add,          ///< add
  remove,       ///< remove
  get_many,     ///< get_many, get_many_stored (one call, however many keys)
  set_many,     ///< set_many
  remove_many,  ///< remove_many
  increment,    ///< increment, decrement
  get_or_set,   ///< a whole get_or_set call, hit or load
  load,         ///< one run of a get_or_set loader (inline or in the background)
  count_        ///< number of kinds; not a kind
};

/// The stable lower-case label of an Op ("get", "get_or_set", ...).
CACHET_EXPORT const char* to_string(Op op) noexcept;

/// What an operation returned.
enum class OpOutcome {
  hit,       ///< get found a value; get_many found every key
  miss,      ///< get found nothing; get_many missed a key
  ok,        ///< a write stored, remove removed, increment returned a value, get_or_set returned, a loader returned
  rejected,  ///< false / nullopt without a backend failure: add found the key, remove found none, a value too large
  error,     ///< a backend failure (returned as a miss / false under FailOpen), or the call (the loader) threw
};

/// "hit", "miss", "ok", "rejected", "error".
CACHET_EXPORT const char* to_string(OpOutcome outcome) noexcept;

/// State of a circuit breaker (FallbackCache's; see fallback_cache.hpp).
enum class BreakerState { closed, open, half_open };

/// "closed", "open", "half_open".
CACHET_EXPORT const char* to_string(BreakerState state) noexcept;

/// Receives a cache's events. See the guarantees at the top of this header.
class CACHET_EXPORT CacheObserver {
 public:
  virtual ~CacheObserver();

  /// An operation of kind `op` finished after `duration` (wall time on a
  /// monotonic clock, including the backend's round trip).
  virtual void on_operation(const Cache& cache, Op op, OpOutcome outcome, std::chrono::nanoseconds duration);

  /// A backend failure was counted (the cache's `errors` statistic). `endpoint`
  /// is the server it concerns ("127.0.0.1:6379", a unix socket path) when the
  /// backend knows it, else empty (FallbackCache reports its primary's
  /// failures without an endpoint: the primary's own observer sees it).
  virtual void on_error(const Cache& cache, ErrorKind kind, std::string_view endpoint);

  /// A circuit breaker changed state (only caches that have one).
  virtual void on_breaker_state(const Cache& cache, BreakerState from, BreakerState to);

  /// An operation evicted `count` entries to respect the cache's bounds.
  virtual void on_evictions(const Cache& cache, std::uint64_t count);
};

}  // namespace cachet
