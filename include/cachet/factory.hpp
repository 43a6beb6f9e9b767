// cachet/factory.hpp — building the configured cache, with a Redis probe.
//
// CacheFactory turns a CacheConfig into a Cache. For CACHE_TYPE=redis it first
// probes the server with a throw-away connection: connect with the configured
// timeouts, SET a unique test key under the prefix with a 10 s TTL, GET it
// back, compare, DEL it. What happens when the probe fails depends on
// CacheConfig::fallback:
//   runtime — (the default) build a FallbackCache: Redis behind a circuit
//             breaker, the in-memory cache while Redis is unusable. When the
//             probe fails the wrapper starts with its breaker open (served from
//             memory), one warning is logged, and a background prober moves
//             it to Redis by itself once Redis answers; report().backend is
//             "fallback" either way and fell_back says where it starts;
//   startup — build a SimpleCache from the same config and log one warning
//             with the reason; the process stays on memory until restarted;
//   none    — throw BackendError with the reason.
// CACHE_TYPE=hybrid probes the same way and builds a HybridCache: a SimpleCache
// L1 (CACHE_L1_*) over Redis, with the invalidation channel of
// CACHE_L1_INVALIDATION. runtime: the L2 is a FallbackCache whose secondary
// is the L1 itself (one memory budget); startup / none as for redis.
// report().coherence names the mode in force and why.
// report() says what was asked for, what was built and why; over TLS also
// what the probe negotiated, warning when the server certificate expires
// within 14 days. The probe is
// bounded by connect_timeout + socket_timeout (plus a little): a closed port
// fails within milliseconds, a server that accepts and never answers within
// the socket timeout. create() never hangs.
//
// Thread safety: a CacheFactory is not meant to be shared while create() runs;
// the caches it returns are thread-safe.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cachet/cache.hpp"
#include "cachet/config.hpp"
#include "cachet/export.hpp"
#include "cachet/tls_options.hpp"

namespace cachet {

/// What CacheFactory::create() did, for logs, health pages and `cachet probe`.
struct FactoryReport {
  std::string requested;         ///< the type asked for: "simple", "redis", "null", "hybrid"
  std::string backend;           ///< what was built, as Cache::backend() names it; empty when create() threw
  bool fell_back = false;        ///< true when the requested backend was not usable at creation
                                 ///< (runtime mode: the FallbackCache starts on memory)
  std::string reason;            ///< why the probe failed ("connection refused (127.0.0.1:6390)",
                                 ///< "timeout ...", "WRONGPASS ...", "probe value mismatch"); empty when it did not
  /// Time spent probing Redis, rounded up: 0 when not probed, >= 1 ms when a probe ran.
  std::chrono::milliseconds probe_time{0};
  FallbackMode fallback = FallbackMode::runtime;  ///< the mode that was applied
  std::string target;            ///< for redis: the URL probed, password as "***"; empty otherwise
  /// For hybrid: the L1 coherence mode in force and why ("bcast (requested)",
  /// "pubsub: CLIENT TRACKING refused (...), fell back ..."); empty otherwise.
  std::string coherence;
  /// For a TLS target (rediss://) whose probe connected: the TLS version,
  /// cipher and server certificate (subject, issuer, expiry). nullopt otherwise.
  std::optional<TlsSessionInfo> tls;
  /// What the probe found worth attention although the backend works, each
  /// also logged once: a server certificate that expires within 14 days.
  std::vector<std::string> warnings;

  /// One line, e.g. "requested=redis backend=simple fell_back=yes reason=\"connection refused ...\" probe_time=1ms";
  /// with TLS also tls="TLSv1.3, <cipher>; server certificate <subject> ..., valid until <date>", and warnings.
  CACHET_EXPORT std::string to_string() const;
};

class CACHET_EXPORT CacheFactory {
 public:
  /// Validates `config` (ConfigError).
  explicit CacheFactory(CacheConfig config);

  /// Builds the configured cache (never null). For redis, probes first (see
  /// above). Throws BackendError only in `none` mode when Redis is unusable
  /// (report() is filled before it throws). Never hangs: at most one probe,
  /// bounded by the configured timeouts.
  std::unique_ptr<Cache> create();

  /// What the last create() did.
  const FactoryReport& report() const noexcept { return report_; }
  const CacheConfig& config() const noexcept { return config_; }

 private:
  CacheConfig config_;
  FactoryReport report_;
};

/// Builds the cache `config` describes (default: from the environment), with
/// the config's fallback mode. Same errors as CacheFactory::create().
CACHET_EXPORT std::unique_ptr<Cache> create_cache(const CacheConfig& config = CacheConfig::from_env());

/// Like create_cache, but an unreachable Redis never throws: `none` is treated
/// as `startup` (a SimpleCache is returned) and `runtime` is kept. Fills
/// `report` when given.
CACHET_EXPORT std::unique_ptr<Cache> create_cache_with_fallback(const CacheConfig& config = CacheConfig::from_env(),
                                                                FactoryReport* report = nullptr);

}  // namespace cachet
