// cachet/cache.hpp — the Cache interface every backend implements.
//
// A Cache maps byte-string keys to byte-string values with an optional expiry
// (see Ttl). Keys and values are arbitrary bytes: NUL, CR/LF, 0xFF and invalid
// UTF-8 are stored as given; the empty key is a valid key; a stored empty value
// is a hit, distinct from a miss.
//
// Thread safety: every Cache is safe to share between threads; every method may
// be called concurrently with any other on the same object. Caches are not
// copyable or movable (hold them by std::unique_ptr / std::shared_ptr).
//
// Failures: a miss is not an error. A backend failure (Redis unreachable, a
// timeout, an error reply) by default makes the operation behave as a miss /
// `false` / `nullopt` / 0, is counted in stats().errors and logged (rate-limited)
// through the "cachet" logger; under ErrorPolicy::Throw the backend throws
// BackendError instead. Invalid arguments throw std::invalid_argument.
//
// Design: the public methods are non-virtual; they count statistics and provide
// the shared machinery (single-flight get_or_set, typed helpers, batch overloads)
// once for all backends, and call the private do_* virtuals a backend overrides.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "cachet/codec.hpp"
#include "cachet/errors.hpp"
#include "cachet/export.hpp"
#include "cachet/load_options.hpp"
#include "cachet/metrics.hpp"
#include "cachet/observer.hpp"
#include "cachet/stats.hpp"
#include "cachet/ttl.hpp"

namespace cachet {

namespace metrics {
struct MetricsAccess;  // prometheus_text's access to collect_metrics (src/metrics)
}
namespace detail {
class CacheCore;  // statistics counters + single-flight table (src/core)
class Loading;    // get_or_set with LoadOptions (src/core)

/// A loader kept on the heap, for a load that outlives its get_or_set call.
struct OwnedLoader {
  virtual ~OwnedLoader() = default;
  virtual std::string load() = 0;
};

template <class F>
struct OwnedLoaderOf final : OwnedLoader {
  template <class G>
  explicit OwnedLoaderOf(G&& g) : f(std::forward<G>(g)) {}
  std::string load() override { return std::string(std::invoke(f)); }
  F f;
};

/// A get_or_set loader, type-erased without allocating: `call` runs it in
/// place; `own` copies it (moves it, when get_or_set was given an rvalue) to
/// the heap when it must outlive the call; null when it can be neither.
struct LoaderRef {
  void* ctx;
  std::string (*call)(void* ctx);
  std::shared_ptr<OwnedLoader> (*own)(void* ctx);
};
}

/// Counters a backend reports through Cache::count(); see CacheStats.
/// Backend failures are counted with Cache::count_failure(), not one by one.
enum class Counter : int {
  hits, misses, sets, removes, errors, evictions, expirations,
  errors_connection, errors_timeout, errors_protocol, errors_reply, errors_pool_exhausted, errors_tls,
  stale_served, loader_timeouts, background_loads, eager_refreshes, lock_waits, lock_timeouts,
  count_  // number of counters; not a counter
};

/// Outcome of Cache::try_lock.
enum class LockResult {
  acquired,        ///< the caller holds the lock
  held_elsewhere,  ///< another holder has it
  unavailable,     ///< the backend could not be asked
};

class CACHET_EXPORT Cache {
 public:
  using Value = std::optional<std::string>;
  using KeyList = std::vector<std::string_view>;
  using ItemList = std::vector<std::pair<std::string_view, std::string_view>>;

  virtual ~Cache();
  Cache(const Cache&) = delete;
  Cache& operator=(const Cache&) = delete;

  /// The value of `key`; nullopt on a miss, an expired entry, or (FailOpen) a
  /// backend failure.
  Value get(std::string_view key);

  /// Stores `value` under `key` for `ttl` (default: the cache's default timeout).
  /// True when stored; false on a backend failure or when the value cannot be
  /// stored at all (e.g. larger than a SimpleCache's max_bytes).
  bool set(std::string_view key, std::string_view value, Ttl ttl = {});

  /// Stores only if `key` is absent (an expired entry counts as absent).
  /// Atomic: of many concurrent add()s of one key exactly one returns true.
  /// False when the key exists or on a backend failure.
  bool add(std::string_view key, std::string_view value, Ttl ttl = {});

  /// True when an entry was removed; false when there was none or on failure.
  bool remove(std::string_view key);

  /// True when `key` holds a live entry; false on a miss or a failure.
  /// Not counted as a hit or miss.
  bool contains(std::string_view key);

  /// Values in the order of `keys` (nullopt for each miss). On a backend
  /// failure every element is nullopt. Duplicated keys are allowed.
  std::vector<Value> get_many(std::initializer_list<std::string_view> keys);
  std::vector<Value> get_many(const std::vector<std::string>& keys);
  std::vector<Value> get_many(const KeyList& keys);

  /// Stores every item with the same `ttl`. True when all were stored. For a
  /// key given twice, the last value wins. Not atomic as a whole on every
  /// backend (Redis: one pipelined round trip; each SET is atomic).
  bool set_many(std::initializer_list<std::pair<std::string_view, std::string_view>> items, Ttl ttl = {});
  bool set_many(const std::vector<std::pair<std::string, std::string>>& items, Ttl ttl = {});
  bool set_many(const ItemList& items, Ttl ttl = {});

  /// Removes the given keys; returns how many entries were removed (0 on failure).
  std::size_t remove_many(std::initializer_list<std::string_view> keys);
  std::size_t remove_many(const std::vector<std::string>& keys);
  std::size_t remove_many(const KeyList& keys);

  /// Atomically adds `delta` to the integer stored at `key` and returns the new
  /// value. A missing key starts from 0 and gets the default timeout; an
  /// existing entry keeps its expiry. The value is stored as decimal text
  /// ("5"), interoperable with Redis INCRBY. A non-integer value, an overflow of
  /// int64, or a backend failure give nullopt and leave the value unchanged.
  std::optional<std::int64_t> increment(std::string_view key, std::int64_t delta = 1);
  /// increment(key, -delta); delta == INT64_MIN gives nullopt (overflow).
  std::optional<std::int64_t> decrement(std::string_view key, std::int64_t delta = 1);

  /// Remaining lifetime of `key`: nullopt when missing (or on failure),
  /// Ttl::never() when it never expires, else the remaining time (>= 1 ms).
  std::optional<Ttl> ttl(std::string_view key);

  /// Gives an existing entry a new expiry (`ttl` default: the default timeout;
  /// Ttl::never(): remove the expiry). False when missing or on failure.
  bool touch(std::string_view key, Ttl ttl = {});

  /// Removes every entry of this cache — for a prefixed backend only the keys
  /// under its prefix. True on success.
  bool clear();

  /// The value of `key`, or on a miss: runs `loader` (any callable returning
  /// something convertible to std::string), stores its result for `ttl` and
  /// returns it. Single-flight: while one caller runs the loader for a key,
  /// other callers of get_or_set for that key on this Cache object wait for it
  /// and get the same value, so the loader runs once. If the loader throws,
  /// every waiting caller gets that exception and nothing is stored. If storing
  /// fails (backend down) the loaded value is still returned.
  /// Same as get_or_set(key, loader, LoadOptions{ttl}): the cache's load
  /// defaults (set_load_defaults) apply.
  template <class Loader>
  std::string get_or_set(std::string_view key, Loader&& loader, Ttl ttl = {}) {
    LoadOptions options;
    options.ttl = ttl;
    return get_or_set(key, std::forward<Loader>(loader), options);
  }

  /// get_or_set with resilience options (see load_options.hpp). Besides the
  /// above: a value served stale is counted (stats().stale_served) and logged;
  /// hard_timeout with nothing stale to serve throws TimeoutError, to the
  /// caller and to every waiter; the loader's exception reaches every waiter
  /// when there is no stale value. std::invalid_argument for invalid options.
  template <class Loader>
  std::string get_or_set(std::string_view key, Loader&& loader, const LoadOptions& options) {
    static_assert(std::is_invocable_v<Loader&>, "get_or_set: the loader must be callable with no arguments");
    static_assert(std::is_convertible_v<std::invoke_result_t<Loader&>, std::string>,
                  "get_or_set: the loader must return something convertible to std::string");
    using Fn = std::remove_reference_t<Loader>;
    detail::LoaderRef ref{
        const_cast<void*>(static_cast<const volatile void*>(std::addressof(loader))),
        [](void* c) -> std::string { return std::string(std::invoke(*static_cast<Fn*>(c))); },
        [](void* c) -> std::shared_ptr<detail::OwnedLoader> { return own_loader<Loader>(*static_cast<Fn*>(c)); }};
    return get_or_set_erased(key, ref, options);
  }

  /// get_or_set for typed values: the loader returns something convertible
  /// to T, stored with Codec<T>::encode. A stored value that does not decode
  /// as a T is replaced: it is removed and the loader runs.
  template <class T, class Loader>
  T get_or_set_as(std::string_view key, Loader&& loader, const LoadOptions& options = {}) {
    static_assert(std::is_invocable_v<Loader&>, "get_or_set_as: the loader must be callable with no arguments");
    static_assert(std::is_convertible_v<std::invoke_result_t<Loader&>, T>,
                  "get_or_set_as: the loader must return something convertible to T");
    auto encoded = [l = std::forward<Loader>(loader)]() mutable { return Codec<T>::encode(T(std::invoke(l))); };
    if (auto v = Codec<T>::decode(get_or_set(key, encoded, options))) return std::move(*v);
    remove(key);  // not a T: replace it
    if (auto v = Codec<T>::decode(get_or_set(key, encoded, options))) return std::move(*v);
    throw Error("get_or_set_as: the value stored under the key does not decode as the requested type");
  }

  /// get(key) decoded with Codec<T>; nullopt on a miss or when the stored
  /// bytes do not decode as a T.
  template <class T>
  std::optional<T> get_as(std::string_view key) {
    auto v = get(key);
    if (!v) return std::nullopt;
    return Codec<T>::decode(*v);
  }

  /// set(key, Codec<T>::encode(value), ttl).
  template <class T>
  bool set_as(std::string_view key, const T& value, Ttl ttl = {}) {
    return set(key, Codec<T>::encode(value), ttl);
  }

  /// A snapshot of this cache's counters (see CacheStats).
  CacheStats stats() const;

  /// Health check: true when the backend answers (always true in memory).
  bool ping();

  /// The stored bytes of `key` as the backend holds them: unlike get(), an
  /// entry written by get_or_set with fail_safe or eager_refresh keeps its
  /// header (docs/loading.md) and is returned even when stale. For wrappers
  /// that compose caches, and for tools. Counted like get().
  Value get_stored(std::string_view key);
  /// get_many() without interpreting headers, as get_stored().
  std::vector<Value> get_many_stored(const KeyList& keys);

  /// The distributed lock behind LoadOptions::distributed_lock, for wrappers
  /// that compose caches: takes `lock_key` for `ttl` unless another holder has
  /// it, remembering `token`. A shared backend stores the lock under its key
  /// prefix (Redis: SET NX PX), so clear() removes it; an in-process cache
  /// reports `acquired` (its single-flight is the lock). `unavailable` when the
  /// backend cannot be asked (the caller then loads without the lock). Never
  /// throws for a backend failure.
  LockResult try_lock(std::string_view lock_key, std::string_view token, Ttl ttl);
  /// Releases `lock_key` only if it still holds `token` (compare-and-delete,
  /// atomic on the backend). Never throws for a backend failure.
  void unlock(std::string_view lock_key, std::string_view token);

  /// The lifetime a Ttl::use_default() write gets (e.g. the options'
  /// default_timeout); Ttl::never() when entries do not expire by default.
  Ttl default_timeout() const noexcept { return do_default_timeout(); }

  /// Defaults for the fields a get_or_set call leaves at their default value
  /// (see LoadOptions::use_cache_defaults); the factory sets them from the
  /// CACHE_FAIL_SAFE, CACHE_LOADER_* ... keys. `defaults.ttl` is ignored (the
  /// cache's default timeout applies). Thread-safe; applies to calls that start
  /// afterwards. std::invalid_argument for invalid options.
  void set_load_defaults(const LoadOptions& defaults);
  LoadOptions load_defaults() const;

  /// Where background loads run. Default: this cache's own threads, created
  /// on first need (`threads`, default 2, set_loader_threads). An application
  /// executor must run each task once; a task that runs after the cache was
  /// destroyed does nothing. Set before the first background load.
  void set_load_executor(LoadExecutor executor);
  /// The number of the cache's own loader threads (>= 1). Set before the first
  /// background load; std::invalid_argument for 0.
  void set_loader_threads(std::size_t threads);

  /// Calls of `op` since this cache was created (exact) and their latency
  /// histogram (sampled; see metrics.hpp). Local figures: no backend call, no
  /// failure; std::invalid_argument for Op::count_. Thread-safe.
  LatencySnapshot latency(Op op) const;
  /// Turns per-operation call counting and latency timing on (the default) or
  /// off; stats() counts regardless, and a registered observer is still
  /// called. Thread-safe; applies to calls that start afterwards.
  void set_metrics_enabled(bool enabled) noexcept;
  /// Whether per-operation counting and timing are on (set_metrics_enabled).
  bool metrics_enabled() const noexcept;
  /// Registers `observer` (null: none), replacing the previous one, which is
  /// kept alive until this cache is destroyed (calls in flight may still reach
  /// it). Thread-safe. See observer.hpp for when and how it is called.
  void set_observer(std::shared_ptr<CacheObserver> observer);

  /// The backend's name: "simple", "null", "redis", "fallback".
  virtual std::string_view backend() const noexcept = 0;

 protected:
  Cache();

  /// Adds `n` to a counter. Cheap (per-thread striped, relaxed); backends
  /// call it for errors, evictions, expirations and their own counters.
  void count(Counter c, std::uint64_t n = 1) const noexcept;

  /// Counts one backend failure: `errors` and the counter of its kind
  /// (errors_connection, ...). The one way a backend or wrapper counts a failure.
  /// `endpoint` ("host:port", a socket path; empty when unknown) is passed to
  /// the observer.
  void count_failure(ErrorKind kind, std::string_view endpoint = {}) const noexcept;

  /// Tells the observer that a breaker changed state. Call it outside locks.
  void notify_breaker_state(BreakerState from, BreakerState to) const noexcept;

  /// Lets a backend add its own metric families to prometheus_text() and
  /// MetricsRegistry (e.g. a breaker's state), after the families every cache
  /// has; the default adds none. Called during a scrape, from any thread,
  /// concurrently with operations (and under a MetricsRegistry's lock): read
  /// local figures only, never block on I/O. What it throws reaches the caller
  /// of prometheus_text().
  virtual void collect_metrics(MetricsWriter& out) const;

  /// Lets a backend add gauges and backend-specific fields to a snapshot.
  virtual void fill_stats(CacheStats& stats) const;

  /// For a wrapper's hot path: `inner`'s stored value of `key`, as
  /// get_stored() returns it, without counting the call in `inner`'s
  /// statistics and metrics (the wrapper's own get() counts it once).
  static Value get_uncounted(Cache& inner, std::string_view key) { return inner.do_get(key); }

  /// Waits for background loads in progress and drops those not started
  /// (their waiters get an error). Every backend calls it first thing in its
  /// destructor: a background load calls the backend's virtual functions,
  /// which must not run on a half-destroyed object. Idempotent.
  void stop_background_loads() noexcept;

 private:
  virtual Value do_get(std::string_view key) = 0;
  virtual bool do_set(std::string_view key, std::string_view value, Ttl ttl) = 0;
  virtual bool do_add(std::string_view key, std::string_view value, Ttl ttl) = 0;
  virtual bool do_remove(std::string_view key) = 0;
  virtual bool do_contains(std::string_view key) = 0;
  virtual std::vector<Value> do_get_many(const KeyList& keys) = 0;
  virtual bool do_set_many(const ItemList& items, Ttl ttl) = 0;
  virtual std::size_t do_remove_many(const KeyList& keys) = 0;
  virtual std::optional<std::int64_t> do_increment(std::string_view key, std::int64_t delta) = 0;
  virtual std::optional<Ttl> do_ttl(std::string_view key) = 0;
  virtual bool do_touch(std::string_view key, Ttl ttl) = 0;
  virtual bool do_clear() = 0;
  virtual bool do_ping() = 0;
  virtual Ttl do_default_timeout() const noexcept = 0;

  /// See try_lock() / unlock(). The defaults suit in-process caches, where
  /// get_or_set's single-flight already is the lock: acquired, nothing to release.
  virtual LockResult do_try_lock(std::string_view lock_key, std::string_view token, Ttl ttl);
  virtual void do_unlock(std::string_view lock_key, std::string_view token);

  friend class detail::Loading;
  friend struct metrics::MetricsAccess;
  std::string get_or_set_erased(std::string_view key, const detail::LoaderRef& loader, const LoadOptions& options);

  template <class Loader, class Fn>
  static std::shared_ptr<detail::OwnedLoader> own_loader(Fn& fn) {
    using Stored = std::decay_t<Fn>;
    if constexpr (!std::is_lvalue_reference_v<Loader> && std::is_move_constructible_v<Stored>) {
      return std::make_shared<detail::OwnedLoaderOf<Stored>>(std::move(fn));
    } else if constexpr (std::is_copy_constructible_v<Stored>) {
      return std::make_shared<detail::OwnedLoaderOf<Stored>>(fn);
    } else {
      return nullptr;
    }
  }

  std::unique_ptr<detail::CacheCore> core_;
};

}  // namespace cachet
