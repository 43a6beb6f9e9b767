// cachet/factory.hpp — building the configured cache, with a Redis probe.
//
// CacheFactory turns a CacheConfig into a Cache. For CACHE_TYPE=redis it first
// probes the server: connect with the configured timeouts, SET a unique test
// key under the prefix with a short TTL, GET it back, compare, DEL it. What
// happens when the probe fails depends on CacheConfig::fallback:
//   startup — build a SimpleCache from the same config, log one warning;
//   none    — throw BackendError with the reason;
//   runtime — return a FallbackCache whose breaker starts open.
// report() says what was asked for, what was built and why. The probe is
// bounded by connect_timeout + socket_timeout (plus a little); create() never hangs.
//
// Thread safety: a CacheFactory is not meant to be shared while create() runs;
// the caches it returns are thread-safe.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "cachet/cache.hpp"
#include "cachet/config.hpp"
#include "cachet/export.hpp"

namespace cachet {

struct FactoryReport {
  std::string requested;         ///< the type asked for: "simple", "redis", "null"
  std::string backend;           ///< what was built, as Cache::backend() names it
  bool fell_back = false;        ///< true when the requested backend was not usable
  std::string reason;            ///< why it fell back ("connection refused", ...); empty when it did not
  std::chrono::milliseconds probe_time{0};  ///< time spent probing Redis (0 when not probed)
  FallbackMode fallback = FallbackMode::startup;  ///< the mode that was applied
};

class CACHET_EXPORT CacheFactory {
 public:
  /// Validates `config` (ConfigError).
  explicit CacheFactory(CacheConfig config);

  /// Builds the configured cache. Throws BackendError only in `none` mode when
  /// Redis is unusable; never hangs.
  std::unique_ptr<Cache> create();

  /// What the last create() did.
  const FactoryReport& report() const noexcept { return report_; }
  const CacheConfig& config() const noexcept { return config_; }

 private:
  CacheConfig config_;
  FactoryReport report_;
};

/// Builds the cache `config` describes (default: from the environment).
CACHET_EXPORT std::unique_ptr<Cache> create_cache(const CacheConfig& config = CacheConfig::from_env());

/// Like create_cache, but always with start-up fallback semantics (a Redis
/// that cannot be reached gives a SimpleCache) unless `config` asks for
/// runtime fallback; fills `report` when given.
CACHET_EXPORT std::unique_ptr<Cache> create_cache_with_fallback(const CacheConfig& config = CacheConfig::from_env(),
                                                                FactoryReport* report = nullptr);

}  // namespace cachet
