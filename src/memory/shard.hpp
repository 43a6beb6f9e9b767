// Internal: one shard of SimpleCache — an open-addressing index over
// single-allocation entries, kept in a SIEVE queue for eviction.
//
// Every member function requires the shard's mutex to be held by the caller
// (SimpleCache::Impl takes it). Nothing here is thread-safe on its own.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <mutex>
#include <string_view>

namespace cachet::memory {

/// Nanoseconds on std::chrono::steady_clock (the cache's only clock).
std::int64_t now_ns() noexcept;

/// True when a deadline (0 = never) has not passed. Cheap far from expiry: a
/// coarse clock that never runs ahead of steady_clock (Linux
/// CLOCK_MONOTONIC_COARSE, same base, updated every tick) decides when the
/// deadline is more than kCoarseMargin away; otherwise `precise_now()` decides.
/// So an expired entry is never reported alive unless the coarse clock lagged
/// by more than the margin (a stall of the kernel's timekeeping for seconds).
template <class PreciseNow>
bool alive(std::int64_t expires_ns, PreciseNow&& precise_now) noexcept;

/// A lower bound of now_ns(), 0 when no such clock exists.
std::int64_t coarse_now_ns() noexcept;
inline constexpr std::int64_t kCoarseMargin = 2'000'000'000;  // 2 s

template <class PreciseNow>
bool alive(std::int64_t expires_ns, PreciseNow&& precise_now) noexcept {
  if (expires_ns == 0) return true;
  const std::int64_t coarse = coarse_now_ns();
  if (coarse != 0 && coarse < expires_ns - kCoarseMargin) return true;
  return precise_now() < expires_ns;
}

/// One cache entry: this 32-byte header, then the key bytes, then the value
/// bytes, in ONE malloc'd block. `older`/`newer` link the shard's SIEVE queue
/// (insertion order; the tail is the oldest entry).
struct Entry {
  Entry* older;
  Entry* newer;
  std::int64_t expires_ns;      ///< steady-clock deadline; 0 = never expires
  std::uint32_t key_visited;    ///< key length in bits 0..30, SIEVE "visited" in bit 31
  std::uint32_t value_len;

  static constexpr std::uint32_t kVisited = 0x8000'0000u;
  static constexpr std::size_t kMaxKey = 0x7FFF'FFFFu;
  static constexpr std::size_t kMaxValue = 0xFFFF'FFFFu;

  std::size_t key_len() const noexcept { return key_visited & ~kVisited; }
  bool visited() const noexcept { return (key_visited & kVisited) != 0; }
  void set_visited(bool v) noexcept { key_visited = v ? (key_visited | kVisited) : (key_visited & ~kVisited); }
  char* data() noexcept { return reinterpret_cast<char*>(this + 1); }
  const char* data() const noexcept { return reinterpret_cast<const char*>(this + 1); }
  std::string_view key() const noexcept { return {data(), key_len()}; }
  std::string_view value() const noexcept { return {data() + key_len(), value_len}; }
  /// Bytes charged against max_bytes: key + value.
  std::size_t charge() const noexcept { return key_len() + value_len; }
  bool expired_at(std::int64_t now) const noexcept { return expires_ns != 0 && expires_ns <= now; }

  /// A new entry (links unset, not visited); nullptr when out of memory.
  static Entry* create(std::string_view key, std::string_view value, std::int64_t expires_ns) noexcept;
  static void destroy(Entry* e) noexcept;
};
static_assert(sizeof(Entry) == 32, "the per-entry header must stay at 32 bytes");

/// Hash of a key; the same function everywhere (shard choice, slot, tag).
std::uint64_t hash_key(std::string_view key) noexcept;

class alignas(64) Shard {  // one cache line apart: no false sharing between shard locks
 public:
  static constexpr std::size_t npos = static_cast<std::size_t>(-1);

  /// Called once, before use: at most `item_budget` (>= 1) entries. Throws
  /// std::bad_alloc when even the initial index cannot be allocated.
  void init(std::size_t item_budget);
  ~Shard();

  std::mutex mu;

  /// Slot index of `key`'s entry (expired or not), or npos.
  std::size_t find(std::string_view key, std::uint64_t h) const noexcept;
  Entry* at(std::size_t slot) const noexcept { return entry_of(slots_[slot]); }

  /// Links a new entry at the head of the queue and indexes it. The caller has
  /// made room: size() < item_budget(), and the key is not present. False
  /// (nothing changed) only when the index could not grow for lack of memory.
  bool insert(Entry* e, std::uint64_t h) noexcept;
  /// Swaps the entry in `slot` for `fresh` (same key), keeping its queue
  /// position, expiry and visited bit; frees the old one.
  void replace(std::size_t slot, Entry* fresh) noexcept;
  /// Unlinks, unindexes and frees the entry in `slot`; returns its charge.
  std::size_t erase(std::size_t slot) noexcept;
  /// Same, for an entry found by walking the queue.
  std::size_t erase(Entry* e) noexcept;

  /// SIEVE: evicts one entry (an expired one counts as an expiration). `keep`
  /// is never chosen. Returns {bytes freed, true when it was expired}; {0,false}
  /// with nothing evicted when only `keep` (or nothing) is left.
  struct Evicted {
    std::size_t bytes = 0;
    bool expired = false;
    bool any = false;
  };
  Evicted evict_one(std::int64_t now, const Entry* keep) noexcept;

  /// Reclaims expired entries among the next `steps` of the queue (a cursor
  /// separate from the SIEVE hand). Returns {bytes freed, entries reclaimed}.
  std::pair<std::size_t, std::size_t> sweep(std::int64_t now, int steps) noexcept;

  /// Removes everything; returns the bytes freed.
  std::size_t clear() noexcept;

  /// Records that `e`'s expiry changed from `before` (for the sweep's bookkeeping).
  void expiry_changed(std::int64_t before, std::int64_t after) noexcept {
    expiring_ += (after != 0) - (before != 0);
  }

  std::size_t size() const noexcept { return live_; }
  std::size_t item_budget() const noexcept { return item_budget_; }

 private:
  // A slot holds an Entry* with a few hash bits (the "tag") in its alignment
  // bits, so most non-matching probes never touch the entry. 0 = empty.
  static constexpr std::uintptr_t kTagMask = 0xF;
  static Entry* entry_of(std::uintptr_t s) noexcept { return reinterpret_cast<Entry*>(s & ~kTagMask); }
  static std::uintptr_t tag_of(std::uint64_t h) noexcept { return static_cast<std::uintptr_t>(h >> 40) & kTagMask; }
  std::size_t home(std::uint64_t h) const noexcept {
    return static_cast<std::size_t>((static_cast<std::uint64_t>(static_cast<std::uint32_t>(h)) * size_) >> 32);
  }
  std::size_t find_ptr(const Entry* e) const noexcept;
  void unindex(std::size_t slot) noexcept;
  void place(std::uintptr_t s, std::uint64_t h) noexcept;
  bool grow() noexcept;
  void unlink(Entry* e) noexcept;
  bool reset_table(std::size_t slots) noexcept;
  std::size_t free_entries() noexcept;

  std::unique_ptr<std::uintptr_t[]> slots_;
  std::size_t size_ = 0;        // number of slots
  std::size_t max_slots_ = 0;   // slots needed for item_budget_ at the maximum load
  std::size_t live_ = 0;
  std::size_t item_budget_ = 0;
  std::size_t expiring_ = 0;    // entries with an expiry (the sweep runs only when > 0)
  Entry* head_ = nullptr;       // newest
  Entry* tail_ = nullptr;       // oldest
  Entry* hand_ = nullptr;       // SIEVE hand (nullptr: start at the tail)
  Entry* sweep_ = nullptr;      // expiry sweep cursor (nullptr: start at the tail)
};

}  // namespace cachet::memory
