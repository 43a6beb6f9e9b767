// Internal: CACHE_TYPE=hybrid, composed. The factory probes Redis first (as
// for redis) and hands the outcome here.
#pragma once

#include <memory>
#include <string>

#include "cachet/cache.hpp"
#include "cachet/config.hpp"
#include "cachet/factory.hpp"

namespace cachet::detail {

struct RedisProbeOutcome {
  bool ok = false;
  ErrorKind kind = ErrorKind::connection;
  std::string reason;
};

/// The HybridCache `config` describes, given the probe's outcome, applying
/// CACHE_FALLBACK; fills report.backend / fell_back / reason / coherence.
/// BackendError in `none` mode when Redis is unusable.
std::unique_ptr<Cache> build_hybrid(const CacheConfig& config, FactoryReport& report, const RedisProbeOutcome& probe);

}  // namespace cachet::detail
