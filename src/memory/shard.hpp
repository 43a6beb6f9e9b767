// Internal: one shard of SimpleCache — an open-addressing index over
// single-allocation entries, kept in a SIEVE queue for eviction, behind a small
// spin lock. The design and its measurements are in docs/architecture.md
// ("The in-memory engine").
//
// Every Shard member function requires the shard's lock to be held by the
// caller (SimpleCache::Impl takes it). Nothing here is thread-safe on its own.
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <memory>
#include <string_view>
#include <utility>

#include "memory/key_hash.hpp"
#include "memory/spin_lock.hpp"

namespace cachet::memory {

/// One cache entry: this 32-byte header, then the key bytes, then the value
/// bytes, in ONE malloc'd block. `older`/`newer` link the shard's SIEVE queue
/// (insertion order; the tail is the oldest entry). The hit path reads the
/// header's second half (deadline, key length, value length) and the bytes
/// right after it.
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
  /// Sets the visited bit without writing the line when it is already set, so
  /// hits on a hot entry leave it shared between cores.
  void mark_visited() noexcept {
    if ((key_visited & kVisited) == 0) key_visited |= kVisited;
  }
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

// 128-byte aligned: the lock and the fields a lookup reads share the first
// line, which the lock brings into this core anyway; and no two shards share a
// 128-byte pair of lines, which Intel's adjacent-line prefetcher moves together.
class alignas(128) Shard {
 public:
  static constexpr std::size_t npos = static_cast<std::size_t>(-1);

  /// Called once, before use: at most `item_budget` (>= 1) entries. Throws
  /// std::bad_alloc when even the initial index cannot be allocated.
  void init(std::size_t item_budget);
  ~Shard();

  SpinLock mu;

  /// Slot index of `key`'s entry (expired or not), or npos.
  std::size_t find(std::string_view key, std::uint64_t h) const noexcept {
    const std::uintptr_t tag = tag_of(h);
    std::size_t i = home(h);
    for (;;) {
      const std::uintptr_t s = slots_[i];
      if (s == 0) return npos;
      if ((s & kTagMask) == tag) {
        const Entry* e = entry_of(s);
        // Most tag matches are the key: start fetching the lines after the
        // header (rest of the key, the value) while the header's miss is served.
        __builtin_prefetch(reinterpret_cast<const char*>(e) + 64);
        __builtin_prefetch(reinterpret_cast<const char*>(e) + 128);
        if (e->key_len() == key.size() && bytes::equal(e->data(), key.data(), key.size())) return i;
      }
      if (++i == size_) i = 0;
    }
  }
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

  /// Sets a linked entry's deadline (0 = never), keeping the sweep's
  /// bookkeeping right. The only way a linked entry's deadline may change.
  void set_expiry(Entry* e, std::int64_t expires_ns) noexcept {
    expiring_ += (expires_ns != 0) - (e->expires_ns != 0);
    e->expires_ns = expires_ns;
    note_deadline(expires_ns);
  }

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
  /// separate from the SIEVE hand). Does nothing, without touching an entry,
  /// while no deadline in the shard can have passed. Returns {bytes freed,
  /// entries reclaimed}.
  std::pair<std::size_t, std::size_t> sweep(std::int64_t now, int steps) noexcept {
    if (expiring_ == 0 || now < earliest_) return {0, 0};
    return sweep_steps(now, steps);
  }

  /// True when some entry in the shard has a deadline.
  bool has_deadlines() const noexcept { return expiring_ != 0; }

  /// Removes everything; returns the bytes freed.
  std::size_t clear() noexcept;

  std::size_t size() const noexcept { return live_; }
  std::size_t item_budget() const noexcept { return item_budget_; }

 private:
  static constexpr std::int64_t kNoDeadline = std::numeric_limits<std::int64_t>::max();
  // A slot holds an Entry* with a few hash bits (the "tag") in its alignment
  // bits, so most non-matching probes never touch the entry. 0 = empty.
  static constexpr std::uintptr_t kTagMask = 0xF;
  static Entry* entry_of(std::uintptr_t s) noexcept { return reinterpret_cast<Entry*>(s & ~kTagMask); }
  static std::uintptr_t tag_of(std::uint64_t h) noexcept { return static_cast<std::uintptr_t>(h >> 40) & kTagMask; }
  std::size_t home(std::uint64_t h) const noexcept {
    return static_cast<std::size_t>((static_cast<std::uint64_t>(static_cast<std::uint32_t>(h)) * size_) >> 32);
  }
  void note_deadline(std::int64_t d) noexcept {
    if (d != 0) {
      if (d < earliest_) earliest_ = d;
      if (d < pass_earliest_) pass_earliest_ = d;
    }
  }
  std::pair<std::size_t, std::size_t> sweep_steps(std::int64_t now, int steps) noexcept;
  std::size_t find_ptr(const Entry* e) const noexcept;
  void unindex(std::size_t slot) noexcept;
  void place(std::uintptr_t s, std::uint64_t h) noexcept;
  bool grow() noexcept;
  void unlink(Entry* e) noexcept;
  bool reset_table(std::size_t slots) noexcept;
  std::size_t free_entries() noexcept;

  // First line, with the lock: what find() reads.
  std::unique_ptr<std::uintptr_t[]> slots_;
  std::size_t size_ = 0;        // number of slots
  // The rest: what writes read and change.
  std::size_t max_slots_ = 0;   // slots needed for item_budget_ at the maximum load
  std::size_t live_ = 0;
  std::size_t item_budget_ = 0;
  std::size_t expiring_ = 0;    // entries with a deadline (the sweep runs only when > 0)
  // A lower bound of every deadline in the shard: until `now` reaches it,
  // nothing can have expired and the sweep does not walk. Lowered as deadlines
  // are set; raised only when the sweep completes a pass, to the smallest
  // deadline set or seen since that pass began (pass_earliest_).
  std::int64_t earliest_ = kNoDeadline;
  std::int64_t pass_earliest_ = kNoDeadline;
  Entry* head_ = nullptr;       // newest
  Entry* tail_ = nullptr;       // oldest
  Entry* hand_ = nullptr;       // SIEVE hand (nullptr: start at the tail)
  Entry* sweep_ = nullptr;      // expiry sweep cursor (nullptr: start at the tail)
};

}  // namespace cachet::memory
