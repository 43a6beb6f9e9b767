// Latency buckets, the histogram's snapshot and its quantiles, and the choice
// of a sampling period.
#include "metrics/histogram.hpp"

#include <algorithm>
#include <stdexcept>
#include <string>

namespace cachet {

namespace {

constexpr std::array<std::uint64_t, kLatencyBuckets> kBoundsNs = {
    1'000,         2'000,         5'000,         10'000,        20'000,         50'000,
    100'000,       200'000,       500'000,       1'000'000,     2'000'000,      5'000'000,
    10'000'000,    20'000'000,    50'000'000,    100'000'000,   200'000'000,    500'000'000,
    1'000'000'000, 2'000'000'000, 5'000'000'000, 10'000'000'000};

}  // namespace

const std::array<double, kLatencyBuckets>& latency_bucket_bounds() noexcept {
  static const std::array<double, kLatencyBuckets> bounds = [] {
    std::array<double, kLatencyBuckets> b{};
    // Written as decimal literals' values (1e-06, not 1000 * 1e-09) so the
    // exposition shows le="1e-06".
    static constexpr double kSeconds[kLatencyBuckets] = {1e-6, 2e-6, 5e-6, 1e-5, 2e-5, 5e-5, 1e-4, 2e-4,
                                                         5e-4, 1e-3, 2e-3, 5e-3, 1e-2, 2e-2, 5e-2, 0.1,
                                                         0.2,  0.5,  1.0,  2.0,  5.0,  10.0};
    std::copy(std::begin(kSeconds), std::end(kSeconds), b.begin());
    return b;
  }();
  return bounds;
}

double LatencySnapshot::quantile(double q) const {
  if (!(q >= 0.0 && q <= 1.0)) {
    throw std::invalid_argument("LatencySnapshot::quantile(" + std::to_string(q) + "): accepted: 0 <= q <= 1");
  }
  if (count == 0) return 0.0;
  const auto& bounds = latency_bucket_bounds();
  const double rank = q * static_cast<double>(count);
  std::uint64_t below = 0;  // calls in the buckets before i
  for (std::size_t i = 0; i < buckets.size(); ++i) {
    const std::uint64_t in = buckets[i];
    if (in != 0 && static_cast<double>(below + in) >= rank) {
      if (i == kLatencyBuckets) return max_seconds;  // above the last bound: only the max is known
      const double lower = i == 0 ? 0.0 : bounds[i - 1];
      const double upper = bounds[i];
      const double v = lower + (upper - lower) * (rank - static_cast<double>(below)) / static_cast<double>(in);
      return max_seconds > 0 ? std::min(v, max_seconds) : v;
    }
    below += in;
  }
  return max_seconds;
}

namespace metrics {

std::size_t bucket_of(std::uint64_t ns) noexcept {
  return static_cast<std::size_t>(std::lower_bound(kBoundsNs.begin(), kBoundsNs.end(), ns) - kBoundsNs.begin());
}

void Histogram::read(LatencySnapshot& out) const noexcept {
  out.count = 0;
  for (std::size_t i = 0; i < buckets_.size(); ++i) {
    out.buckets[i] = buckets_[i].load(std::memory_order_relaxed);
    out.count += out.buckets[i];
  }
  out.sum_seconds = static_cast<double>(sum_ns_.load(std::memory_order_relaxed)) * 1e-9;
  out.max_seconds = static_cast<double>(max_ns_.load(std::memory_order_relaxed)) * 1e-9;
}

std::uint32_t SampledHistogram::period_for(std::uint64_t mean_ns) noexcept {
  const std::uint64_t want = kTimingCostNs * 100 / std::max<std::uint64_t>(mean_ns, 1);
  std::uint32_t period = 1;
  while (period < want && period < kMaxPeriod) period *= 2;
  return period;
}

void SampledHistogram::record(std::uint64_t ns, std::uint32_t mask) noexcept {
  hist_.record(ns, std::uint64_t{mask} + 1);
  window_ns_.fetch_add(ns, std::memory_order_relaxed);
  if (window_n_.fetch_add(1, std::memory_order_relaxed) + 1 != kWindow) return;
  // This thread closes the window. Records racing with the reset land in the
  // next window or are lost from the mean; the period is a heuristic.
  window_n_.store(0, std::memory_order_relaxed);
  const std::uint64_t mean = window_ns_.exchange(0, std::memory_order_relaxed) / kWindow;
  mask_.store(period_for(mean) - 1, std::memory_order_relaxed);
}

}  // namespace metrics
}  // namespace cachet
