// Internal: the state every Cache carries — striped statistics counters and the
// single-flight table behind get_or_set. One place for both, so every backend
// fills stats the same way.
#pragma once

#include <array>
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

#include "cachet/cache.hpp"
#include "core/loader_pool.hpp"

namespace cachet::detail {

/// Monotonic counters, striped per thread so that two threads counting on the
/// same cache do not bounce one cache line between cores. A thread owns one of
/// the first kStripes - 1 stripes (process-wide, released when it exits) and
/// adds to it with a plain load and store — no locked instruction, which was
/// ~5% of a SimpleCache hit; threads beyond that share the last stripe and
/// use fetch_add.
class StripedCounters {
 public:
  static constexpr std::size_t kStripes = 16;
  static constexpr std::size_t kCounters = static_cast<std::size_t>(Counter::count_);

  void add(Counter c, std::uint64_t n) noexcept {
    const Slot slot = thread_slot();
    auto& cell = stripes_[slot.index].v[static_cast<std::size_t>(c)];
    if (slot.exclusive) {
      cell.store(cell.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
    } else {
      cell.fetch_add(n, std::memory_order_relaxed);
    }
  }
  std::uint64_t sum(Counter c) const noexcept {
    std::uint64_t total = 0;
    for (const auto& s : stripes_) total += s.v[static_cast<std::size_t>(c)].load(std::memory_order_relaxed);
    return total;
  }

 private:
  // 128-byte aligned: Intel's adjacent-line prefetcher moves 128-byte pairs.
  struct alignas(128) Stripe {
    std::array<std::atomic<std::uint64_t>, kCounters> v{};
  };
  struct Slot {
    std::size_t index;
    bool exclusive;  // only this thread writes stripe `index`
  };
  static Slot thread_slot() noexcept;
  std::array<Stripe, kStripes> stripes_{};
};

/// get_or_set's table of loads in flight, one per key.
class SingleFlight {
 public:
  struct Flight {
    std::mutex mu;
    std::condition_variable cv;
    bool done = false;
    std::optional<std::string> value;
    std::exception_ptr error;
  };

  /// Returns the flight for `key` and whether the caller leads it.
  std::pair<std::shared_ptr<Flight>, bool> join(const std::string& key);
  /// Called by the leader when its load finished (value or error).
  void finish(const std::string& key, const std::shared_ptr<Flight>& flight);

 private:
  std::mutex mu_;
  std::unordered_map<std::string, std::shared_ptr<Flight>> flights_;
};

/// get_or_set's settings and background machinery (src/core/loading.cpp).
struct LoadState {
  std::mutex mu;  // guards the fields below but `guard`
  LoadOptions defaults;
  std::atomic<bool> has_defaults{false};  // defaults differ from LoadOptions{}: merging needs the lock
  LoadExecutor executor;            // an application's, or empty: `pool`
  std::size_t threads = 2;          // size of `pool` when it is created
  std::unique_ptr<LoaderPool> pool; // created on the first background load
  bool stopped = false;
  const std::shared_ptr<LifetimeGuard> guard = std::make_shared<LifetimeGuard>();
};

class CacheCore {
 public:
  StripedCounters counters;
  SingleFlight flights;
  LoadState loading;
};

}  // namespace cachet::detail
