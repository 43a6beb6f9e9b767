// SimpleCache: power-of-two shards, each a spin-locked Shard (index +
// SIEVE queue). max_items is split exactly between the shards; max_bytes is
// one global atomic budget that a write reserves before it stores, so neither
// bound is ever exceeded. See docs/architecture.md ("The in-memory engine").
#include "cachet/simple_cache.hpp"

#include <algorithm>
#include <atomic>
#include <charconv>
#include <limits>
#include <mutex>
#include <string>
#include <thread>

#include "cachet/errors.hpp"
#include "memory/clock.hpp"
#include "memory/key_hash.hpp"
#include "memory/shard.hpp"
#include "memory/spin_lock.hpp"

namespace cachet {

namespace {

using memory::Entry;
using memory::Shard;
using memory::SpinLock;

constexpr std::size_t kMaxShards = 4096;
constexpr std::size_t kAutoMaxShards = 64;
// Below this many items per shard the auto choice uses fewer shards.
constexpr std::size_t kMinItemsPerShard = 64;
// Entries the expiry sweep inspects per write (reclaims garbage at twice the
// write rate without ever scanning).
constexpr int kSweepSteps = 2;

std::size_t round_up_pow2(std::size_t n) {
  std::size_t p = 1;
  while (p < n) p <<= 1;
  return p;
}

std::size_t pick_shards(const SimpleCacheOptions& o) {
  std::size_t n;
  if (o.shards == 0) {
    const std::size_t hw = std::max(1u, std::thread::hardware_concurrency());
    n = std::min(round_up_pow2(4 * hw), kAutoMaxShards);
    while (n > 1 && o.max_items / n < kMinItemsPerShard) n >>= 1;
  } else {
    n = round_up_pow2(std::min(o.shards, kMaxShards));
  }
  while (n > 1 && n > o.max_items) n >>= 1;  // every shard holds at least one entry
  return n;
}

// Redis's integer syntax (what INCRBY accepts): optional '-', no '+', no
// spaces, no leading zeros, no "-0", within int64.
bool parse_int64(std::string_view s, std::int64_t& out) {
  if (s.empty() || s.size() > 20) return false;
  const std::size_t digits_at = s[0] == '-' ? 1 : 0;
  if (digits_at == s.size()) return false;
  if (s[digits_at] == '0' && (s.size() > 1)) return false;
  if (s[digits_at] < '0' || s[digits_at] > '9') return false;
  auto r = std::from_chars(s.data(), s.data() + s.size(), out);
  return r.ec == std::errc() && r.ptr == s.data() + s.size();
}

// The clock of one operation: each reading is taken at most once, and only
// when needed. precise() is steady_clock (~30 ns here); coarse() is a lower
// bound of it that lags by about a timer tick (~5-8 ns): the precise reading
// when one was already taken or no coarse clock exists. Whatever only has to
// be conservative (is this entry certainly expired? may anything here have
// expired?) uses coarse(); deciding that an entry is alive needs precise()
// unless the deadline is far (memory::alive_at).
class OpClock {
 public:
  std::int64_t precise() {
    if (precise_ == 0) precise_ = memory::now_ns();
    return precise_;
  }
  std::int64_t coarse() {
    if (coarse_ == 0) coarse_ = precise_ != 0 ? precise_ : memory::coarse_now_ns();
    if (coarse_ == 0) coarse_ = precise();
    return coarse_;
  }
  /// memory::alive_at with this operation's readings.
  bool alive(std::int64_t expires_ns) {
    return expires_ns == 0 || memory::alive_at(expires_ns, coarse(), [this] { return precise(); });
  }

 private:
  std::int64_t precise_ = 0;
  std::int64_t coarse_ = 0;
};

// Deadlines of TTLs from this long on are computed from the coarse clock:
// they may fall up to one timer tick (1-10 ms) early, never late.
constexpr std::int64_t kCoarseDeadlineMinMs = 1000;

}  // namespace

// NOLINTNEXTLINE(clang-analyzer-optin.performance.Padding): `bytes` sits on its own cache line on purpose
struct SimpleCache::Impl {
  enum class Mode { set, add, increment };

  // Evictions / expirations seen during one operation, counted once at its end.
  struct Tally {
    const SimpleCache& cache;
    std::uint64_t evicted = 0;
    std::uint64_t expired = 0;
    explicit Tally(const SimpleCache& c) : cache(c) {}
    ~Tally() {
      if (evicted != 0) cache.count(Counter::evictions, evicted);
      if (expired != 0) cache.count(Counter::expirations, expired);
    }
    Tally(const Tally&) = delete;
    Tally& operator=(const Tally&) = delete;
  };

  explicit Impl(SimpleCacheOptions opts) : options(std::move(opts)) {
    if (options.max_items == 0) {
      throw ConfigError("SimpleCacheOptions.max_items = 0: accepted: a number of entries >= 1 (default 10000)");
    }
    if (options.max_bytes == 0) {
      throw ConfigError("SimpleCacheOptions.max_bytes = 0: accepted: a number of bytes >= 1 (default 67108864 = 64 MiB)");
    }
    if (options.default_timeout.is_default()) {
      throw ConfigError(
          "SimpleCacheOptions.default_timeout = default: accepted: a positive duration, or 0 s / Ttl::never() for "
          "entries that never expire");
    }
    nshards = pick_shards(options);
    options.shards = nshards;
    shard_mask = nshards - 1;
    shards = std::make_unique<Shard[]>(nshards);
    for (std::size_t i = 0; i < nshards; ++i) {
      shards[i].init(options.max_items / nshards + (i < options.max_items % nshards ? 1 : 0));
    }
  }

  std::size_t shard_index(std::uint64_t h) const noexcept { return static_cast<std::size_t>(h >> 48) & shard_mask; }

  /// The deadline for `ttl` (resolved against the default); 0 = never.
  std::int64_t deadline(Ttl ttl, OpClock& now) noexcept {
    const Ttl t = ttl.resolve(options.default_timeout);
    if (t.is_never()) return 0;
    if (!deadlines_seen.load(std::memory_order_relaxed)) deadlines_seen.store(true, std::memory_order_relaxed);
    const std::int64_t ms = t.duration().count();
    const std::int64_t base = ms >= kCoarseDeadlineMinMs ? now.coarse() : now.precise();
    // Saturates at "practically never" instead of overflowing, without a
    // 64-bit division on every TTL'd write.
    std::int64_t span = 0;
    std::int64_t at = 0;
    if (__builtin_mul_overflow(ms, std::int64_t{1'000'000}, &span) || __builtin_add_overflow(base, span, &at)) {
      return std::numeric_limits<std::int64_t>::max();
    }
    return at;
  }

  bool try_reserve(std::size_t n) noexcept {
    std::size_t cur = bytes.load(std::memory_order_relaxed);
    do {
      if (n > options.max_bytes - cur) return false;
    } while (!bytes.compare_exchange_weak(cur, cur + n, std::memory_order_relaxed));
    return true;
  }
  void release(std::size_t n) noexcept {
    if (n != 0) bytes.fetch_sub(n, std::memory_order_relaxed);
  }

  void account(const Shard::Evicted& ev, Tally& tally) noexcept {
    release(ev.bytes);
    (ev.expired ? tally.expired : tally.evicted) += 1;
  }

  /// Erases the entry in `slot` of `s` (expired on access).
  void reclaim_expired(Shard& s, std::size_t slot, Tally& tally) noexcept {
    release(s.erase(slot));
    ++tally.expired;
  }

  /// The bounded per-write reclaim step.
  void sweep(Shard& s, OpClock& now, Tally& tally) noexcept {
    if (!s.has_deadlines()) return;  // no clock read for a shard without TTLs
    auto [freed, n] = s.sweep(now.coarse(), kSweepSteps);
    release(freed);
    tally.expired += n;
  }

  /// Frees at least `need` bytes of the global budget by evicting from the
  /// shards other than `own`, one shard lock at a time (never two at once).
  void evict_elsewhere(std::size_t own, std::size_t need, Tally& tally) {
    for (std::size_t k = 1; k < nshards; ++k) {
      Shard& t = shards[(own + k) & shard_mask];
      std::lock_guard<SpinLock> lock(t.mu);
      OpClock now;
      while (need > options.max_bytes - bytes.load(std::memory_order_relaxed)) {
        auto ev = t.evict_one(now.coarse(), nullptr);
        if (!ev.any) break;
        account(ev, tally);
      }
      if (need <= options.max_bytes - bytes.load(std::memory_order_relaxed)) return;
    }
  }

  Value get(std::string_view key, Tally& tally) {
    // The clock is read first, before the key is even hashed: the CPU then
    // overlaps it with the misses on the key, the index and the entry instead
    // of adding it after them. Reading it before the lock is sound: a value
    // found alive by this reading was alive at some instant of this call (or
    // was written later in it, with a deadline in the future). Caches that
    // never had a deadline skip it.
    const std::int64_t coarse = deadlines_seen.load(std::memory_order_relaxed) ? memory::coarse_now_ns() : 0;
    const std::uint64_t h = memory::hash_key(key);
    Shard& s = shards[shard_index(h)];
    std::lock_guard<SpinLock> lock(s.mu);
    const std::size_t i = s.find(key, h);
    if (i == Shard::npos) return std::nullopt;
    Entry* e = s.at(i);
    if (!memory::alive_at(e->expires_ns, coarse, memory::now_ns)) {
      reclaim_expired(s, i, tally);
      return std::nullopt;
    }
    e->mark_visited();
    return std::string(e->value());
  }

  /// Finds a live entry for `key` in `s` (lock held), reclaiming an expired one.
  std::size_t find_live(Shard& s, std::string_view key, std::uint64_t h, OpClock& now, Tally& tally) {
    const std::size_t i = s.find(key, h);
    if (i == Shard::npos) return i;
    const Entry* e = s.at(i);
    if (!now.alive(e->expires_ns)) {
      reclaim_expired(s, i, tally);
      return Shard::npos;
    }
    return i;
  }

  /// Looks `key` up under its shard's lock: `on_live(shard, slot)`'s result,
  /// called with the lock still held, when the key is present and alive;
  /// `on_miss` otherwise.
  template <class R, class OnLive>
  R with_live(std::string_view key, OpClock& now, Tally& tally, R on_miss, OnLive&& on_live) {
    const std::uint64_t h = memory::hash_key(key);
    Shard& s = shards[shard_index(h)];
    std::lock_guard<SpinLock> lock(s.mu);
    const std::size_t i = find_live(s, key, h, now, tally);
    if (i == Shard::npos) return on_miss;
    return on_live(s, i);
  }

  /// set / add / increment. For increment, `delta` is added and the new value
  /// goes to `*result`; the expiry of an existing entry is kept.
  bool write(Mode mode, std::string_view key, std::string_view value, Ttl ttl, std::int64_t delta,
             std::int64_t* result, Tally& tally) {
    if (key.size() > Entry::kMaxKey || value.size() > Entry::kMaxValue) return false;
    if (mode != Mode::increment && key.size() + value.size() > options.max_bytes) return false;
    const std::uint64_t h = memory::hash_key(key);
    const std::size_t own = shard_index(h);
    Shard& s = shards[own];
    OpClock now;
    std::int64_t expires = mode == Mode::increment ? 0 : deadline(ttl, now);  // before taking the lock

    // A second attempt happens only when the global byte budget had to be
    // freed from other shards (our shard alone could not make room).
    for (int attempt = 0; attempt < 3; ++attempt) {
      std::unique_lock<SpinLock> lock(s.mu);
      std::size_t i = find_live(s, key, h, now, tally);
      Entry* old = i == Shard::npos ? nullptr : s.at(i);
      char buf[24];
      std::string_view v = value;
      if (mode == Mode::add && old != nullptr) return false;
      if (mode == Mode::increment) {
        std::int64_t cur = 0;
        if (old != nullptr) {
          if (!parse_int64(old->value(), cur)) return false;
          expires = old->expires_ns;
        } else {
          expires = deadline(Ttl{}, now);
        }
        std::int64_t next = 0;
        if (__builtin_add_overflow(cur, delta, &next)) return false;
        v = std::string_view(buf, static_cast<std::size_t>(std::to_chars(buf, buf + sizeof buf, next).ptr - buf));
        *result = next;
        if (key.size() + v.size() > options.max_bytes) return false;
      }

      if (old != nullptr && old->value_len == v.size()) {  // same size: overwrite in place
        if (!v.empty()) std::memcpy(old->data() + old->key_len(), v.data(), v.size());
        s.set_expiry(old, expires);
        old->mark_visited();
        sweep(s, now, tally);
        return true;
      }

      const std::size_t need = key.size() + v.size();
      const std::size_t old_charge = old != nullptr ? old->charge() : 0;
      bool evicted = false;
      if (old == nullptr) {
        while (s.size() >= s.item_budget()) {
          auto ev = s.evict_one(now.coarse(), nullptr);
          if (!ev.any) return false;
          account(ev, tally);
        }
      }
      if (need > old_charge) {
        bool reserved;
        while (!(reserved = try_reserve(need - old_charge))) {
          auto ev = s.evict_one(now.coarse(), old);
          if (!ev.any) break;
          account(ev, tally);
          evicted = true;
        }
        if (!reserved) {
          lock.unlock();
          evict_elsewhere(own, need - old_charge, tally);
          continue;
        }
      }

      Entry* e = Entry::create(key, v, expires);
      if (e == nullptr) {
        if (need > old_charge) release(need - old_charge);
        return false;
      }
      if (old != nullptr) {
        if (evicted) i = s.find(key, h);  // evictions may have moved the slot
        s.replace(i, e);                  // keeps the queue position
        s.set_expiry(e, expires);
        e->mark_visited();
        if (old_charge > need) release(old_charge - need);
      } else if (!s.insert(e, h)) {
        Entry::destroy(e);
        release(need);
        return false;
      }
      sweep(s, now, tally);
      return true;
    }
    return false;
  }

  SimpleCacheOptions options;
  std::size_t nshards = 1;
  std::size_t shard_mask = 0;
  // Set once some entry got a deadline; until then get() reads no clock.
  // Read by every get, written once: it stays in every core's cache.
  std::atomic<bool> deadlines_seen{false};
  std::unique_ptr<Shard[]> shards;
  // Key + value bytes held or reserved, all shards. Written by size-changing
  // writes only; on its own line, away from what every lookup reads.
  alignas(64) std::atomic<std::size_t> bytes{0};
};

SimpleCache::SimpleCache(SimpleCacheOptions options) : impl_(std::make_unique<Impl>(std::move(options))) {}
SimpleCache::~SimpleCache() { stop_background_loads(); }

const SimpleCacheOptions& SimpleCache::options() const noexcept { return impl_->options; }

void SimpleCache::fill_stats(CacheStats& stats) const {
  std::uint64_t items = 0;
  for (std::size_t i = 0; i < impl_->nshards; ++i) {
    std::lock_guard<SpinLock> lock(impl_->shards[i].mu);
    items += impl_->shards[i].size();
  }
  stats.items = items;
  stats.bytes = impl_->bytes.load(std::memory_order_relaxed);
}

Cache::Value SimpleCache::do_get(std::string_view key) {
  Impl::Tally tally(*this);
  return impl_->get(key, tally);
}

bool SimpleCache::do_set(std::string_view key, std::string_view value, Ttl ttl) {
  Impl::Tally tally(*this);
  return impl_->write(Impl::Mode::set, key, value, ttl, 0, nullptr, tally);
}

bool SimpleCache::do_add(std::string_view key, std::string_view value, Ttl ttl) {
  Impl::Tally tally(*this);
  return impl_->write(Impl::Mode::add, key, value, ttl, 0, nullptr, tally);
}

bool SimpleCache::do_remove(std::string_view key) {
  Impl::Tally tally(*this);
  OpClock now;
  return impl_->with_live(key, now, tally, false, [this](Shard& s, std::size_t i) {
    impl_->release(s.erase(i));
    return true;
  });
}

bool SimpleCache::do_contains(std::string_view key) {
  Impl::Tally tally(*this);
  OpClock now;
  return impl_->with_live(key, now, tally, false, [](Shard&, std::size_t) { return true; });
}

std::vector<Cache::Value> SimpleCache::do_get_many(const KeyList& keys) {
  Impl::Tally tally(*this);
  std::vector<Value> out;
  out.reserve(keys.size());
  for (auto k : keys) out.push_back(impl_->get(k, tally));
  return out;
}

bool SimpleCache::do_set_many(const ItemList& items, Ttl ttl) {
  Impl::Tally tally(*this);
  bool all = true;
  for (const auto& [k, v] : items) all = impl_->write(Impl::Mode::set, k, v, ttl, 0, nullptr, tally) && all;
  return all;
}

std::size_t SimpleCache::do_remove_many(const KeyList& keys) {
  std::size_t n = 0;
  for (auto k : keys) n += do_remove(k) ? 1 : 0;
  return n;
}

std::optional<std::int64_t> SimpleCache::do_increment(std::string_view key, std::int64_t delta) {
  Impl::Tally tally(*this);
  std::int64_t result = 0;
  if (!impl_->write(Impl::Mode::increment, key, {}, Ttl{}, delta, &result, tally)) return std::nullopt;
  return result;
}

std::optional<Ttl> SimpleCache::do_ttl(std::string_view key) {
  Impl::Tally tally(*this);
  OpClock now;
  const auto left = [&now](Shard& s, std::size_t i) -> std::optional<Ttl> {
    const std::int64_t expires = s.at(i)->expires_ns;
    if (expires == 0) return Ttl::never();
    const std::int64_t left_ns = std::max<std::int64_t>(expires - now.precise(), 1);  // with_live saw it alive
    return Ttl(std::chrono::milliseconds((left_ns + 999'999) / 1'000'000));
  };
  return impl_->with_live(key, now, tally, std::optional<Ttl>(), left);
}

bool SimpleCache::do_touch(std::string_view key, Ttl ttl) {
  Impl::Tally tally(*this);
  OpClock now;
  const std::int64_t expires = impl_->deadline(ttl, now);  // before taking the lock
  return impl_->with_live(key, now, tally, false, [expires](Shard& s, std::size_t i) {
    s.set_expiry(s.at(i), expires);
    return true;
  });
}

bool SimpleCache::do_clear() {
  for (std::size_t i = 0; i < impl_->nshards; ++i) {
    Shard& s = impl_->shards[i];
    std::lock_guard<SpinLock> lock(s.mu);
    impl_->release(s.clear());
  }
  return true;
}

}  // namespace cachet
