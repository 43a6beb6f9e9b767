// cachet/simple_cache.hpp — the bounded in-memory backend.
//
// SimpleCache keeps entries in process memory. It never returns an expired
// entry, never holds more than `max_items` entries nor more than `max_bytes`
// bytes of keys and values, and evicts when full, with the SIEVE policy (a
// FIFO queue plus one "visited" bit per entry: hits never reorder anything, and
// one-hit wonders leave first). Every operation is O(1) amortized; expired
// entries are reclaimed incrementally (on access, by the eviction hand and by a
// two-entry sweep per write), never by a full scan. Evictions and reclaimed
// expired entries are counted in stats().evictions / .expirations; stats().items
// and .bytes give the current size. Expiry has millisecond precision; an entry
// whose TTL is 1 s or more may expire up to one kernel timer tick (1-10 ms)
// early, never late (its deadline is taken from the cheap coarse clock), and
// ttl() reports its remaining time accordingly. Keys up to 2^31-1 bytes and values up to
// 2^32-1 bytes are accepted (set returns false beyond). The table layout is
// described in docs/architecture.md ("The in-memory engine").
//
// Thread safety: safe to share between threads; the table is split into shards
// with independent locks, so threads touching different keys rarely contend.
// It is also meant as a building block (an L1 in front of Redis, the secondary
// of FallbackCache): bounded, TTL-aware and cheap to clear.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>

#include "cachet/cache.hpp"
#include "cachet/export.hpp"

namespace cachet {

struct SimpleCacheOptions {
  /// Most entries held at once. Default 10,000; 0 is rejected (ConfigError).
  std::size_t max_items = 10'000;
  /// Most bytes of keys + values held at once. Default 64 MiB; 0 is rejected.
  /// A single entry larger than this is not stored (set returns false).
  std::size_t max_bytes = std::size_t{64} << 20;
  /// Expiry for operations that pass the default Ttl. Default 300 s;
  /// Ttl::never() (or 0 s) = entries never expire. A default-constructed Ttl{}
  /// is rejected (ConfigError): it would mean "the default of the default".
  Ttl default_timeout = std::chrono::seconds(300);
  /// Number of independently locked shards; 0 (default) picks 4 x hardware
  /// threads (at most 64), fewer when that would leave under 64 entries per
  /// shard. Rounded up to a power of two, at most 4096 and at most max_items.
  /// max_items is split exactly between the shards (each holds at most its
  /// share); max_bytes is one budget shared by all of them.
  std::size_t shards = 0;
};

class CACHET_EXPORT SimpleCache final : public Cache {
 public:
  /// Throws ConfigError for max_items == 0, max_bytes == 0 or a
  /// default-constructed default_timeout.
  explicit SimpleCache(SimpleCacheOptions options = {});
  ~SimpleCache() override;

  std::string_view backend() const noexcept override { return "simple"; }
  /// The options in effect; `shards` holds the number actually used.
  const SimpleCacheOptions& options() const noexcept;

 protected:
  void fill_stats(CacheStats& stats) const override;

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
  bool do_ping() override { return true; }
  Ttl do_default_timeout() const noexcept override { return options().default_timeout; }

  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace cachet
