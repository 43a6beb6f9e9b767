// Internal: what prometheus_text() and MetricsRegistry share — writing one
// cache's families into a MetricsWriter.
#pragma once

#include <memory>
#include <string_view>

#include "cachet/cache.hpp"
#include "cachet/metrics.hpp"
#include "metrics/op_metrics.hpp"

namespace cachet::metrics {

/// Reaches what the public classes keep to themselves: a cache's
/// collect_metrics(), a writer's families.
struct MetricsAccess {
  static void collect(const Cache& cache, MetricsWriter& w) { cache.collect_metrics(w); }
  static MetricsWriter::Impl& impl(MetricsWriter& w) { return *w.impl_; }
  static std::shared_ptr<Registration> registration(const Cache& cache);
};

/// Adds the HELP/TYPE of every family a cache has, with no sample (so an
/// empty registry still lists them).
void declare_core_families(MetricsWriter& w);

/// Adds `cache`'s samples of every family, then its backend's own families.
void write_cache(MetricsWriter& w, const Cache& cache, std::string_view cache_name);

}  // namespace cachet::metrics
