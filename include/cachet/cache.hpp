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
#include "cachet/stats.hpp"
#include "cachet/ttl.hpp"

namespace cachet {

namespace detail {
class CacheCore;  // statistics counters + single-flight table (src/core)
}

/// Counters a backend reports through Cache::count(); see CacheStats.
/// Backend failures are counted with Cache::count_failure(), not one by one.
enum class Counter : int {
  hits, misses, sets, removes, errors, evictions, expirations,
  errors_connection, errors_timeout, errors_protocol, errors_reply, errors_pool_exhausted, errors_tls,
  count_  // number of counters; not a counter
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
  template <class Loader>
  std::string get_or_set(std::string_view key, Loader&& loader, Ttl ttl = {}) {
    static_assert(std::is_invocable_v<Loader&>, "get_or_set: the loader must be callable with no arguments");
    static_assert(std::is_convertible_v<std::invoke_result_t<Loader&>, std::string>,
                  "get_or_set: the loader must return something convertible to std::string");
    using Fn = std::remove_reference_t<Loader>;
    auto* ctx = const_cast<void*>(static_cast<const volatile void*>(std::addressof(loader)));
    return get_or_set_erased(
        key, [](void* c) -> std::string { return std::string(std::invoke(*static_cast<Fn*>(c))); }, ctx, ttl);
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

  /// The backend's name: "simple", "null", "redis", "fallback".
  virtual std::string_view backend() const noexcept = 0;

 protected:
  Cache();

  /// Adds `n` to a counter. Cheap (per-thread striped, relaxed); backends
  /// call it for errors, evictions, expirations and their own counters.
  void count(Counter c, std::uint64_t n = 1) const noexcept;

  /// Counts one backend failure: `errors` and the counter of its kind
  /// (errors_connection, ...). The one way a backend or wrapper counts a failure.
  void count_failure(ErrorKind kind) const noexcept;

  /// Lets a backend add gauges and backend-specific fields to a snapshot.
  virtual void fill_stats(CacheStats& stats) const;

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

  std::string get_or_set_erased(std::string_view key, std::string (*call)(void*), void* ctx, Ttl ttl);

  std::unique_ptr<detail::CacheCore> core_;
};

}  // namespace cachet
