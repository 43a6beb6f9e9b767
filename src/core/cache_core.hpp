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

namespace cachet::detail {

/// Monotonic counters, striped per thread so that two threads counting on the
/// same cache do not bounce one cache line between cores.
class StripedCounters {
 public:
  static constexpr std::size_t kStripes = 16;
  static constexpr std::size_t kCounters = static_cast<std::size_t>(Counter::count_);

  void add(Counter c, std::uint64_t n) noexcept {
    stripes_[stripe_index()].v[static_cast<std::size_t>(c)].fetch_add(n, std::memory_order_relaxed);
  }
  std::uint64_t sum(Counter c) const noexcept {
    std::uint64_t total = 0;
    for (const auto& s : stripes_) total += s.v[static_cast<std::size_t>(c)].load(std::memory_order_relaxed);
    return total;
  }

 private:
  struct alignas(64) Stripe {
    std::array<std::atomic<std::uint64_t>, kCounters> v{};
  };
  static std::size_t stripe_index() noexcept;
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

class CacheCore {
 public:
  StripedCounters counters;
  SingleFlight flights;
};

}  // namespace cachet::detail
