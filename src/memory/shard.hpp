// Internal: one shard of SimpleCache — an open-addressing index over
// single-allocation entries, kept in a SIEVE queue for eviction, behind a small
// spin lock. The design and its measurements are in docs/architecture.md
// ("The in-memory engine").
//
// Every Shard member function requires the shard's lock to be held by the
// caller (SimpleCache::Impl takes it). Nothing here is thread-safe on its own.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <ctime>  // clock_gettime, CLOCK_MONOTONIC_COARSE (POSIX, via <time.h>)
#include <limits>
#include <memory>
#include <string_view>
#include <utility>

namespace cachet::memory {

// ---------------------------------------------------------------------------
// Time

/// Nanoseconds on std::chrono::steady_clock (the cache's only clock).
std::int64_t now_ns() noexcept;

/// A clock_gettime: the vDSO's own entry point when one was found (called
/// directly, it skips glibc's wrapper: about 5.5 ns instead of 7 on this VM),
/// else libc's.
using ClockGettimeFn = int (*)(clockid_t, timespec*);

/// A clock reading in nanoseconds.
inline std::int64_t timespec_ns(const timespec& ts) noexcept {
  return static_cast<std::int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

/// The function that reads CLOCK_MONOTONIC_COARSE, or null when that clock was
/// not found at start-up to behave as a lower bound of steady_clock. A plain
/// global, so the hit path pays no guard for a function-local static; null
/// (the safe answer) until libcachet's static initialisation has run.
extern const ClockGettimeFn coarse_clock_gettime;

/// The vDSO's clock_gettime, looked up in the image the kernel maps into the
/// process; null where there is none (valgrind hides it) or on platforms
/// without the lookup. Used once at start-up; declared here for the tests.
ClockGettimeFn find_vdso_clock_gettime() noexcept;
/// The same, counting the symbols through DT_GNU_HASH even where DT_HASH
/// exists too (`ignore_sysv_hash`), so the tests cover both ways.
ClockGettimeFn find_vdso_clock_gettime(bool ignore_sysv_hash) noexcept;

/// A lower bound of now_ns() that lags it by about one timer tick, or 0 when
/// there is no such clock. About 5 ns (the vDSO reads a kernel variable)
/// against about 30 ns for now_ns() on this VM.
inline std::int64_t coarse_now_ns() noexcept {
#ifdef CLOCK_MONOTONIC_COARSE
  timespec ts{};
  const ClockGettimeFn read = coarse_clock_gettime;
  if (read == nullptr || read(CLOCK_MONOTONIC_COARSE, &ts) != 0) return 0;
  return timespec_ns(ts);
#else
  return 0;
#endif
}

inline constexpr std::int64_t kCoarseMargin = 2'000'000'000;  // 2 s

/// True when a deadline (0 = never) has not passed, given `coarse`, a reading
/// of coarse_now_ns() taken during the same operation. A deadline more than
/// kCoarseMargin past the coarse time is certainly in the future; otherwise
/// `precise_now()` decides. So an expired entry is never reported alive unless
/// the coarse clock lagged by more than the margin (a stall of the kernel's
/// timekeeping for seconds).
template <class PreciseNow>
bool alive_at(std::int64_t expires_ns, std::int64_t coarse, PreciseNow&& precise_now) noexcept {
  if (expires_ns == 0) return true;
  if (coarse != 0 && coarse < expires_ns - kCoarseMargin) return true;
  return precise_now() < expires_ns;
}

// ---------------------------------------------------------------------------
// Key bytes: hash and comparison, inline because the hit path is a few dozen
// instructions and a call into libstdc++'s std::_Hash_bytes alone was ~80.

namespace bytes {

inline std::uint64_t load64(const char* p) noexcept {
  std::uint64_t v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
inline std::uint64_t load32(const char* p) noexcept {
  std::uint32_t v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

/// The 128-bit product of a and b, its halves XORed: every output bit depends
/// on every input bit of both factors, in one multiplication.
inline std::uint64_t fold_mul(std::uint64_t a, std::uint64_t b) noexcept {
  __extension__ typedef unsigned __int128 u128;  // NOLINT(modernize-use-using): __extension__ (for -Wpedantic) takes a typedef
  const u128 p = static_cast<u128>(a) * b;
  return static_cast<std::uint64_t>(p) ^ static_cast<std::uint64_t>(p >> 64);
}

/// memcmp(a, b, n) == 0, inlined for the short keys caches mostly hold.
inline bool equal(const char* a, const char* b, std::size_t n) noexcept {
  if (n > 32) return std::memcmp(a, b, n) == 0;
  if (n >= 8) {
    for (std::size_t i = 0; i + 8 < n; i += 8) {
      if (load64(a + i) != load64(b + i)) return false;
    }
    return load64(a + n - 8) == load64(b + n - 8);  // the last 8 bytes (may overlap)
  }
  if (n >= 4) return load32(a) == load32(b) && load32(a + n - 4) == load32(b + n - 4);
  for (std::size_t i = 0; i < n; ++i) {
    if (a[i] != b[i]) return false;
  }
  return true;
}

}  // namespace bytes

/// Hash of a key; the same function everywhere (shard choice, slot, tag). It
/// reads the key 8 bytes at a time (the last word overlapping the previous one
/// instead of a byte loop) and mixes each word in with a folded 64x64->128
/// multiplication, then once more with the length. Not keyed: like
/// std::hash, it is no defence against keys crafted to collide.
inline std::uint64_t hash_key(std::string_view key) noexcept {
  constexpr std::uint64_t k0 = 0x9E37'79B9'7F4A'7C15u;  // odd constants with well-spread bits
  constexpr std::uint64_t k1 = 0xC2B2'AE3D'27D4'EB4Fu;
  constexpr std::uint64_t k2 = 0xD6E8'FEB8'6659'FD93u;
  const char* p = key.data();
  const std::size_t n = key.size();
  std::uint64_t h = k0;
  if (n >= 8) {
    std::size_t i = 0;
    for (; i + 8 < n; i += 8) h = bytes::fold_mul(h ^ bytes::load64(p + i), k1);
    h = bytes::fold_mul(h ^ bytes::load64(p + n - 8), k2);
  } else if (n >= 4) {
    h = bytes::fold_mul(h ^ ((bytes::load32(p) << 32) | bytes::load32(p + n - 4)), k2);
  } else if (n > 0) {
    const auto b = [p](std::size_t i) { return static_cast<std::uint64_t>(static_cast<unsigned char>(p[i])); };
    h = bytes::fold_mul(h ^ ((b(0) << 16) | (b(n / 2) << 8) | b(n - 1)), k2);
  }
  return bytes::fold_mul(h ^ n, k0);
}

// ---------------------------------------------------------------------------
// Lock

/// A test-and-test-and-set spin lock (BasicLockable). Shard critical sections
/// are tens of nanoseconds; with std::mutex a waiter went to sleep in the
/// kernel and the holder paid a futex wake-up on unlock (microseconds), which is
/// what kept SimpleCache from scaling to two threads. Uncontended, lock is one
/// atomic exchange and unlock a plain release store. A waiter spins on a read
/// (so the line is not bounced while it waits), then yields, then sleeps, so a
/// holder that was preempted, or a long critical section (clear(), an index
/// rehash), does not burn a core.
class SpinLock {
 public:
  void lock() noexcept {
    if (!locked_.exchange(true, std::memory_order_acquire)) return;
    lock_contended();
  }
  bool try_lock() noexcept {
    return !locked_.load(std::memory_order_relaxed) && !locked_.exchange(true, std::memory_order_acquire);
  }
  void unlock() noexcept { locked_.store(false, std::memory_order_release); }

 private:
  void lock_contended() noexcept;
  std::atomic<bool> locked_{false};
};

// ---------------------------------------------------------------------------
// Entries and shards

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
