// CacheFactory: builds the configured cache; for Redis, probes the server with
// a test key first and applies the fallback mode. The contract is in
// include/cachet/factory.hpp.
#include "cachet/factory.hpp"

#include <algorithm>
#include <string>
#include <utility>

#include "cachet/errors.hpp"
#include "cachet/fallback_cache.hpp"
#include "cachet/null_cache.hpp"
#include "cachet/redis_cache.hpp"
#include "cachet/simple_cache.hpp"
#include "core/log.hpp"
#include "core/probe.hpp"
#include "core/redact.hpp"
#include "factory/build_hybrid.hpp"
#include "factory/tls_report.hpp"

namespace cachet {

namespace {

using Clock = std::chrono::steady_clock;

struct ProbeResult : detail::RoundTrip {
  std::chrono::milliseconds elapsed{0};
  std::optional<TlsSessionInfo> tls;  ///< over TLS, when the round trip worked
};

// The Redis probe: one dedicated connection (pool of 1, errors thrown), the
// configured timeouts, and the test-key round trip of core/probe.hpp. Each
// step is bounded by the RedisCache timeouts, so the whole probe takes at most
// connect_timeout + a few socket_timeouts, and in practice connect_timeout +
// socket_timeout: the first step that times out ends it.
ProbeResult probe_redis(const CacheConfig& config) {
  ProbeResult r;
  const auto start = Clock::now();
  RedisOptions options = config.redis_options();  // validated already; ConfigError propagates
  options.on_error = ErrorPolicy::Throw;
  options.pool_size = 1;
  try {
    RedisCache redis(options);
    static_cast<detail::RoundTrip&>(r) = detail::test_key_round_trip(redis);
    if (r.ok && options.tls.enabled) r.tls = redis.tls_session();
  } catch (const BackendError& e) {
    r.kind = e.kind();
    r.reason = e.what();
  } catch (const ConfigError&) {
    throw;
  } catch (const std::exception& e) {
    r.kind = ErrorKind::connection;
    r.reason = std::string("unexpected error: ") + e.what();
  }
  r.reason = detail::scrub(std::move(r.reason), config.redis_url);
  // Rounded up: a probe that ran reports at least 1 ms (0 means "not probed").
  r.elapsed = std::chrono::ceil<std::chrono::milliseconds>(Clock::now() - start);
  return r;
}

// What every mode reports of a probe: its time and, over TLS, the session and
// a warning (also logged) when the server certificate expires soon.
void report_probe(const ProbeResult& probe, FactoryReport& report) {
  report.probe_time = probe.elapsed;
  report.tls = probe.tls;
  if (!probe.tls) return;
  if (auto warning = detail::certificate_expiry_warning(*probe.tls, std::chrono::system_clock::now())) {
    detail::log()->warn("Redis at {}: {}", report.target, *warning);
    report.warnings.push_back(std::move(*warning));
  }
}

// CACHE_FALLBACK=runtime: Redis behind FallbackCache's circuit breaker, memory
// while Redis is unusable. The probe still runs first, so report() says whether
// the service starts on Redis or on memory; when it fails the wrapper starts
// with its breaker open and its background prober moves to Redis by itself as
// soon as Redis answers.
std::unique_ptr<Cache> build_runtime_fallback(const CacheConfig& config, FactoryReport& report) {
  const ProbeResult probe = probe_redis(config);
  report_probe(probe, report);

  FallbackOptions options;
  options.failure_threshold = config.breaker_threshold;
  options.cooldown = config.breaker_cooldown;
  options.max_cooldown = std::max(options.max_cooldown, config.breaker_cooldown);
  options.journal_max = config.journal_max;
  options.start_open = !probe.ok;
  options.probe_immediately_when_started_open = false;  // the factory's probe just ran

  RedisOptions primary = config.redis_options();
  if (primary.key_prefix.empty() && !primary.allow_flushdb) {
    throw ConfigError(
        "CACHE_FALLBACK=runtime: CACHE_KEY_PREFIX is empty and flushing the database is not allowed, so an "
        "overflowed journal could not be recovered; accepted: a non-empty key prefix, or allow_flushdb=true");
  }
  primary.on_error = ErrorPolicy::Throw;  // the breaker must see failures
  auto cache = std::make_unique<FallbackCache>(std::make_unique<RedisCache>(std::move(primary)),
                                               std::make_unique<SimpleCache>(config.simple_options()),
                                               std::move(options));
  report.backend = std::string(cache->backend());
  if (!probe.ok) {
    report.reason = probe.reason;
    report.fell_back = true;
    detail::log()->warn(
        "Redis at {} is not usable ({}); serving from the in-memory cache and probing Redis in the background "
        "(CACHE_FALLBACK=runtime): the cache moves to Redis by itself when it answers.",
        report.target, probe.reason);
  }
  return cache;
}
}  // namespace

std::string FactoryReport::to_string() const {
  std::string s = "requested=" + requested + " backend=" + (backend.empty() ? std::string("(none)") : backend) +
                  " fell_back=" + (fell_back ? "yes" : "no");
  if (!reason.empty()) s += " reason=\"" + reason + "\"";
  s += " probe_time=" + std::to_string(probe_time.count()) + "ms";
  s += std::string(" fallback=") + cachet::to_string(fallback);
  if (!target.empty()) s += " target=" + target;
  if (!coherence.empty()) s += " coherence=\"" + coherence + "\"";
  if (tls) s += " tls=\"" + detail::describe_tls(*tls) + "\"";
  for (const auto& w : warnings) s += " warning=\"" + w + "\"";
  return s;
}

CacheFactory::CacheFactory(CacheConfig config) : config_(std::move(config)) { config_.validate(); }

namespace {

// The configured cache, before the settings every cache gets (load defaults).
std::unique_ptr<Cache> build(const CacheConfig& config, FactoryReport& report) {
  report.requested = cachet::to_string(config.type);
  report.fallback = config.fallback;

  switch (config.type) {
    case CacheType::null:
      report.backend = "null";
      return std::make_unique<NullCache>();
    case CacheType::simple:
      report.backend = "simple";
      return std::make_unique<SimpleCache>(config.simple_options());
    case CacheType::redis:
    case CacheType::hybrid:
      break;
  }

  report.target = config.redis_url_set || config.redis_topology == RedisTopology::standalone
                      ? detail::redact_url(config.redis_url)
                      : config.redis_options().redacted_url();  // built from the Flask-Caching keys
  if (config.type == CacheType::hybrid) {
    const ProbeResult probe = probe_redis(config);
    report_probe(probe, report);
    return detail::build_hybrid(config, report, {probe.ok, probe.kind, probe.reason});
  }
  if (config.fallback == FallbackMode::runtime) return build_runtime_fallback(config, report);

  const ProbeResult probe = probe_redis(config);
  report_probe(probe, report);
  if (probe.ok) {
    auto cache = std::make_unique<RedisCache>(config.redis_options());
    report.backend = "redis";
    return cache;
  }

  report.reason = probe.reason;
  if (config.fallback == FallbackMode::none) {
    throw BackendError(probe.kind, "Redis at " + report.target + " is not usable (" + probe.reason +
                                       ") and CACHE_FALLBACK=none");
  }
  auto cache = std::make_unique<SimpleCache>(config.simple_options());
  report.backend = "simple";
  report.fell_back = true;
  detail::log()->warn(
      "Redis at {} is not usable ({}); using the in-memory SimpleCache instead (CACHE_FALLBACK=startup). "
      "This process will not move to Redis by itself; entries are not shared with other processes.",
      report.target, probe.reason);
  return cache;
}

}  // namespace

std::unique_ptr<Cache> CacheFactory::create() {
  report_ = FactoryReport{};
  auto cache = build(config_, report_);
  cache->set_load_defaults(config_.load_options());
  cache->set_loader_threads(config_.loader_threads);
  return cache;
}

std::unique_ptr<Cache> create_cache(const CacheConfig& config) {
  CacheFactory factory(config);
  return factory.create();
}

std::unique_ptr<Cache> create_cache_with_fallback(const CacheConfig& config, FactoryReport* report) {
  CacheConfig c = config;
  if (c.fallback == FallbackMode::none) c.fallback = FallbackMode::startup;
  CacheFactory factory(std::move(c));
  auto cache = factory.create();
  if (report != nullptr) *report = factory.report();
  return cache;
}

}  // namespace cachet
