// CACHE_TYPE=hybrid: a SimpleCache L1 over a Redis L2, with the invalidation
// channel of CACHE_L1_INVALIDATION. With CACHE_FALLBACK=runtime the L2 is a
// FallbackCache whose secondary is the L1 itself (hybrid/shared_cache.hpp):
// during an outage the L1 serves and holds the journaled writes, and the
// breaker's recovery clears it.
#include "factory/build_hybrid.hpp"

#include <algorithm>
#include <atomic>
#include <utility>

#include "cachet/errors.hpp"
#include "cachet/fallback_cache.hpp"
#include "cachet/hybrid_cache.hpp"
#include "cachet/redis_cache.hpp"
#include "cachet/simple_cache.hpp"
#include "core/log.hpp"
#include "hybrid/shared_cache.hpp"

namespace cachet::detail {

namespace {

std::unique_ptr<Cache> runtime_l2(const CacheConfig& config, RedisOptions redis, std::shared_ptr<Cache> l1,
                                  std::shared_ptr<std::atomic<bool>> outage_store, bool start_open) {
  if (redis.key_prefix.empty() && !redis.allow_flushdb) {
    throw ConfigError(
        "CACHE_FALLBACK=runtime: CACHE_KEY_PREFIX is empty and flushing the database is not allowed, so an "
        "overflowed journal could not be recovered; accepted: a non-empty key prefix, or allow_flushdb=true");
  }
  FallbackOptions options;
  options.failure_threshold = config.breaker_threshold;
  options.cooldown = config.breaker_cooldown;
  options.max_cooldown = std::max(options.max_cooldown, config.breaker_cooldown);
  options.journal_max = config.journal_max;
  options.start_open = start_open;
  options.probe_immediately_when_started_open = false;  // the factory's probe just ran
  redis.on_error = ErrorPolicy::Throw;                  // the breaker must see failures
  return std::make_unique<FallbackCache>(std::make_unique<RedisCache>(std::move(redis)),
                                         std::make_unique<SharedCache>(std::move(l1), std::move(outage_store)),
                                         std::move(options));
}

}  // namespace

std::unique_ptr<Cache> build_hybrid(const CacheConfig& config, FactoryReport& report, const RedisProbeOutcome& probe) {
  if (!probe.ok) {
    report.reason = probe.reason;
    if (config.fallback == FallbackMode::none) {
      throw BackendError(probe.kind, "Redis at " + report.target + " is not usable (" + probe.reason +
                                         ") and CACHE_FALLBACK=none");
    }
    if (config.fallback == FallbackMode::startup) {
      report.backend = "simple";
      report.fell_back = true;
      log()->warn(
          "Redis at {} is not usable ({}); using the in-memory SimpleCache instead of the hybrid cache "
          "(CACHE_FALLBACK=startup). This process will not move to Redis by itself.",
          report.target, probe.reason);
      return std::make_unique<SimpleCache>(config.simple_options());
    }
  }

  SimpleCacheOptions l1_options;
  l1_options.max_items = config.l1_max_items;
  l1_options.max_bytes = config.l1_max_bytes;
  l1_options.default_timeout = config.default_timeout;
  auto l1 = std::make_shared<SimpleCache>(l1_options);

  RedisOptions redis = config.redis_options();
  std::unique_ptr<InvalidationChannel> channel;
  HybridOptions options;
  options.l1_max_ttl = config.l1_max_ttl;
  if (config.l1_invalidation == InvalidationMode::none) {
    options.without_invalidation = true;
  } else {
    InvalidationOptions io;
    io.mode = config.l1_invalidation;
    io.heartbeat = config.l1_heartbeat;
    channel = redis_invalidation_channel(redis, io);  // before the L2 is built from `redis`
  }
  auto outage_store = std::make_shared<std::atomic<bool>>(false);
  std::unique_ptr<Cache> l2 = config.fallback == FallbackMode::runtime
                                  ? runtime_l2(config, std::move(redis), l1, outage_store, !probe.ok)
                                  : std::make_unique<RedisCache>(std::move(redis));
  auto cache = std::make_unique<HybridCache>(std::move(l1), std::move(l2), std::move(channel), options);
  detail::attach_outage_store(*cache, std::move(outage_store));
  report.backend = "hybrid";
  report.coherence = cache->hybrid_stats().mode_reason;
  if (!probe.ok) {
    report.fell_back = true;
    log()->warn(
        "Redis at {} is not usable ({}); the hybrid cache serves from its in-memory L1 and probes Redis in the "
        "background (CACHE_FALLBACK=runtime).",
        report.target, probe.reason);
  }
  return cache;
}

}  // namespace cachet::detail
