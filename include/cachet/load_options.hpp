// cachet/load_options.hpp — how get_or_set loads a missing value when the
// source behind the cache (a database, a remote API) is slow or down.
//
// A plain get_or_set(key, loader, ttl) protects the source from a stampede in
// this process: one loader per key, other callers wait for it. LoadOptions
// add, per call or as a cache's defaults:
//   fail_safe        keep values past their ttl and serve the last good one
//                    when the loader throws or times out; then, for
//                    fail_safe_throttle, serve it as if fresh (the failing
//                    source is not asked again meanwhile).
//   soft_timeout     with a stale value at hand, answer with it after this long;
//                    the loader goes on in the background and its result is stored.
//   hard_timeout     answer after this long whatever happens: the stale value,
//                    else cachet::TimeoutError. The loader still completes in
//                    the background and its result is stored.
//   eager_refresh    a hit after this fraction of ttl starts one background
//                    reload and returns the current value at once.
//   distributed_lock one loader per key across every process sharing the
//                    backend (Redis: a lock key; in-process caches: the
//                    single-flight already is the lock).
// docs/loading.md has the timeline of each, the stored-entry format and what
// is and is not guaranteed.
//
// With soft_timeout, hard_timeout or eager_refresh the loader may run after
// get_or_set returned, on the cache's loader threads: get_or_set then keeps its
// own copy of the loader (or moves it, when given an rvalue), so a loader must
// be copyable or passed as an rvalue, and must not capture by reference what
// may be gone by then.
#pragma once

#include <chrono>
#include <functional>

#include "cachet/ttl.hpp"

namespace cachet {

struct LoadOptions {
  /// How long a loaded value is fresh. Default: the cache's default timeout.
  Ttl ttl{};
  /// Keep values for ttl + fail_safe_max and serve the last good one when
  /// loading fails. Default false.
  bool fail_safe = false;
  /// How long past ttl a value may still be served by fail-safe. Default 24 h.
  std::chrono::milliseconds fail_safe_max{std::chrono::hours(24)};
  /// After a stale value was served because loading failed, it is served as if
  /// fresh for this long (the loader is not called meanwhile). Default 30 s.
  std::chrono::milliseconds fail_safe_throttle{std::chrono::seconds(30)};
  /// Answer with the stale value after this long when the loader is still
  /// running (needs a stale value: fail_safe). 0 = none (default).
  std::chrono::milliseconds soft_timeout{0};
  /// Answer after this long whatever happens: the stale value if any, else
  /// TimeoutError. 0 = none (default): callers wait for the loader.
  std::chrono::milliseconds hard_timeout{0};
  /// 0 = off (default); in (0, 1): a hit older than this fraction of ttl starts
  /// a background reload and returns the current value at once.
  double eager_refresh = 0;
  /// One loader per key across all processes sharing the backend. Default false.
  bool distributed_lock = false;
  /// How long the distributed lock is held at most, and how long other
  /// processes wait for its holder's value before they serve the stale value,
  /// or, with none, load themselves. Default 5 s.
  std::chrono::milliseconds lock_timeout{std::chrono::seconds(5)};
  /// True (default): each field this call leaves at its default value takes the
  /// cache's configured default (Cache::set_load_defaults, the CACHE_FAIL_SAFE,
  /// CACHE_LOADER_* ... environment keys). False: this call's fields are used
  /// exactly as given (e.g. to switch fail-safe off for one call).
  bool use_cache_defaults = true;

  /// Throws std::invalid_argument naming the first invalid field (a negative
  /// duration, eager_refresh outside [0, 1), hard_timeout < soft_timeout).
  void validate() const;
};

/// Runs a background load. An application that has its own thread pool may
/// hand it to a cache (Cache::set_load_executor); the task must eventually be
/// run (or destroyed) exactly once, on any thread.
using LoadExecutor = std::function<void(std::function<void()> task)>;

}  // namespace cachet
