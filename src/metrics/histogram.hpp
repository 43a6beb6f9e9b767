// Internal: a latency histogram that many threads record into without a lock.
//
// Fixed buckets (cachet::latency_bucket_bounds(), 1-2-5 per decade from 1 µs
// to 10 s, plus one above). A record adds a weight (the sampling period the
// caller used) to one bucket and weight x duration to the sum; the count is
// the sum of the buckets, so a snapshot's _count always equals its +Inf bucket.
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>

#include "cachet/metrics.hpp"

namespace cachet::metrics {

/// The bucket index of a duration in nanoseconds (kLatencyBuckets: above 10 s).
std::size_t bucket_of(std::uint64_t ns) noexcept;

class Histogram {
 public:
  void record(std::uint64_t ns, std::uint64_t weight) noexcept {
    buckets_[bucket_of(ns)].fetch_add(weight, std::memory_order_relaxed);
    sum_ns_.fetch_add(ns * weight, std::memory_order_relaxed);
    std::uint64_t seen = max_ns_.load(std::memory_order_relaxed);
    while (ns > seen && !max_ns_.compare_exchange_weak(seen, ns, std::memory_order_relaxed)) {
    }
  }

  /// Fills buckets, count, sum_seconds and max_seconds of `out` (not calls).
  void read(LatencySnapshot& out) const noexcept;

 private:
  std::array<std::atomic<std::uint64_t>, kLatencyBuckets + 1> buckets_{};
  std::atomic<std::uint64_t> sum_ns_{0};
  std::atomic<std::uint64_t> max_ns_{0};
};

/// A histogram and the sampling period chosen for it. Starts timing every
/// call; every kWindow timed calls it sets the period (a power of two, 1 to
/// kMaxPeriod) so that the clock reads stay near 1% of the calls' mean time.
class SampledHistogram {
 public:
  static constexpr std::uint32_t kWindow = 16;
  static constexpr std::uint32_t kMaxPeriod = 1024;
  /// What two clock reads and a record cost, about (ns); the period aims at 1% of a call.
  static constexpr std::uint64_t kTimingCostNs = 50;

  /// period - 1: a call is timed when its per-thread call number & mask == 0.
  std::uint32_t mask() const noexcept { return mask_.load(std::memory_order_relaxed); }

  /// Records a call timed with the period mask + 1, then adapts the period.
  void record(std::uint64_t ns, std::uint32_t mask) noexcept;

  /// The period for calls whose mean time is `mean_ns`.
  static std::uint32_t period_for(std::uint64_t mean_ns) noexcept;

  const Histogram& histogram() const noexcept { return hist_; }

 private:
  Histogram hist_;
  std::atomic<std::uint32_t> mask_{0};
  std::atomic<std::uint32_t> window_n_{0};
  std::atomic<std::uint64_t> window_ns_{0};
};

}  // namespace cachet::metrics
