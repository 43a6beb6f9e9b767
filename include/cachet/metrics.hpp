// cachet/metrics.hpp — latency histograms, and the Prometheus text format.
//
// Every Cache counts its calls per kind of operation (Op) exactly, and times
// them into a histogram of fixed log-spaced buckets (1-2-5 per decade, 1 µs to
// 10 s). Timing costs two clock reads, which would be a noticeable share of a
// ~150 ns in-memory hit, so a cache times a sample of its calls: it starts by
// timing every call and, from the mean of the last 16 timed calls of that
// kind, picks a power-of-two period (1 to 1024) that keeps the clock reads
// near 1% of the work. A timed call then stands for `period` calls: it adds
// `period` to its bucket and to the count, so the histogram estimates the
// distribution of all calls. Redis calls (tens of µs) are timed every time;
// in-memory hits about one in 64. The exact number of calls is `calls`
// (cachet_operations_total). While an observer is registered every call is
// timed for it (see observer.hpp); the histogram still takes only the sample.
//
// prometheus_text() and MetricsRegistry write the Prometheus text exposition
// format 0.0.4 (docs/observability.md lists every family). The library has no
// HTTP dependency: serve the text with the HTTP server you already have
// (examples/metrics_server.cpp uses cpp-httplib).
//
// Thread safety: all functions here are safe to call concurrently with each
// other and with the caches' operations. A snapshot is read without stopping
// the cache: each bucket is exact, the set of them is not one atomic cut.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "cachet/export.hpp"
#include "cachet/observer.hpp"

namespace cachet {

class Cache;
namespace metrics {
struct MetricsAccess;
}

/// Number of finite latency buckets: 1, 2, 5 per decade from 1 µs to 10 s.
inline constexpr std::size_t kLatencyBuckets = 22;

/// The buckets' upper bounds in seconds (1e-06, 2e-06, 5e-06, 1e-05, ... 5, 10).
CACHET_EXPORT const std::array<double, kLatencyBuckets>& latency_bucket_bounds() noexcept;

/// A snapshot of one kind of operation's calls and latency (Cache::latency()).
struct CACHET_EXPORT LatencySnapshot {
  /// Calls made since the cache was created, counted exactly (also those not timed).
  std::uint64_t calls = 0;
  /// Per bucket, not cumulative: buckets[i] holds durations in
  /// (bound[i-1], bound[i]]; the last element holds those above 10 s. Each
  /// timed call adds its sampling period (see the top of this header).
  std::array<std::uint64_t, kLatencyBuckets + 1> buckets{};
  /// Sum of `buckets`: the estimated number of calls the histogram describes.
  std::uint64_t count = 0;
  /// Estimated total time of those calls, in seconds.
  double sum_seconds = 0;
  /// The longest timed call, in seconds (a sampled call; 0 when none was timed).
  double max_seconds = 0;

  /// The q-quantile (0 <= q <= 1) in seconds, interpolated linearly inside its
  /// bucket as PromQL's histogram_quantile() does, and never above max.
  /// 0 when nothing was timed. std::invalid_argument for q outside [0, 1].
  double quantile(double q) const;
  double p50() const { return quantile(0.5); }
  double p90() const { return quantile(0.9); }
  double p99() const { return quantile(0.99); }
  double p999() const { return quantile(0.999); }
};

/// One extra label of a sample: {name, value}. The value is escaped on output.
using MetricLabel = std::pair<std::string_view, std::string_view>;

/// Collects metric families for the Prometheus text format. prometheus_text()
/// fills one with the families every cache has, then lets the cache's backend
/// add its own (Cache::collect_metrics: a FallbackCache adds its breaker's).
/// Every sample automatically gets the labels cache="<name>" and
/// backend="<backend>" first, then `labels`. Samples of one family (one name)
/// are written together, in the order added, after one HELP and one TYPE line;
/// families appear in the order first added. Names must match
/// [a-zA-Z_:][a-zA-Z0-9_:]* and counters end in "_total";
/// std::invalid_argument otherwise, or when a name is reused with another type.
/// Not thread-safe: one writer per scrape.
class CACHET_EXPORT MetricsWriter {
 public:
  MetricsWriter();
  ~MetricsWriter();
  MetricsWriter(const MetricsWriter&) = delete;
  MetricsWriter& operator=(const MetricsWriter&) = delete;

  /// A monotonic counter.
  void counter(std::string_view name, std::string_view help, std::uint64_t value,
               const std::vector<MetricLabel>& labels = {});
  /// A value that goes up and down.
  void gauge(std::string_view name, std::string_view help, double value, const std::vector<MetricLabel>& labels = {});
  /// A latency histogram in seconds (cumulative buckets, _sum and _count).
  void histogram(std::string_view name, std::string_view help, const LatencySnapshot& h,
                 const std::vector<MetricLabel>& labels = {});

  /// The labels cache= and backend= given to the samples added from now on.
  void begin_cache(std::string_view cache_name, std::string_view backend);
  /// The text written so far (families in order), ending with a newline.
  std::string text() const;

 private:
  friend struct metrics::MetricsAccess;
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

/// The Prometheus text exposition (format 0.0.4) of one cache, every sample
/// labelled cache="<cache_name>" (escaped as the format requires: a name may
/// hold '"', '\' or a newline) and backend="<cache.backend()>". Every family
/// cachet defines is present, counters at 0 included; backend families (a
/// breaker's) are present for every cache of that backend. Does not throw for
/// a backend failure: the figures are local counters and gauges.
CACHET_EXPORT std::string prometheus_text(const Cache& cache, std::string_view cache_name);

/// A set of named caches scraped together: one exposition with one HELP/TYPE
/// block per family and one series per cache (sorted by name).
///
/// A cache must be removed before it is destroyed. A scrape holds the
/// registry's lock while it reads the caches, so after remove() returns no
/// scrape touches that cache. A cache destroyed while still registered is
/// detected (all builds): its destructor logs an error naming the registry
/// entry, and later scrapes skip it and log an error instead of reading freed
/// memory. (A scrape running at the very moment of that destruction is still
/// undefined behaviour; remove first.)
///
/// Thread safety: add, remove and prometheus_text may be called concurrently.
/// Destroying a registry that still holds caches is fine (it unregisters them).
class CACHET_EXPORT MetricsRegistry {
 public:
  MetricsRegistry();
  ~MetricsRegistry();
  MetricsRegistry(const MetricsRegistry&) = delete;
  MetricsRegistry& operator=(const MetricsRegistry&) = delete;

  /// Registers `cache` under `name` (the cache= label). std::invalid_argument
  /// when `name` is already registered (names identify series).
  void add(std::string name, const Cache& cache);
  /// Unregisters `name`; nothing happens when it is not registered.
  void remove(std::string_view name);
  /// The exposition of every registered cache (only the HELP/TYPE lines of
  /// cachet's families when none is registered).
  std::string prometheus_text() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace cachet
