// cachet/config.hpp — choosing and configuring a cache from settings.
//
// CacheConfig is a plain struct with safe defaults. from_env() reads the
// process environment, from_map() reads the same keys from a map (for
// applications with their own configuration system); both validate and throw
// ConfigError naming the key, the value (never a secret such as REDIS_URL's
// password) and what is accepted.
//
// Each key sets one field of CacheConfig (its comment names the key).
// config_keys() lists every key with its default, what it accepts and what it
// is for (`cachet --help` prints it); docs/configuration.md documents them and
// the grammar of values: durations such as 250ms, 30s, 5m, 1h (a bare number
// is seconds for CACHE_DEFAULT_TIMEOUT, milliseconds elsewhere), sizes such as
// 64MiB.
//
// Values are taken exactly as given: no surrounding whitespace, no sign. A key
// that is set to the empty string is an error (unset it to get the default),
// except CACHE_KEY_PREFIX (empty = no prefix) and APP_ENV / CACHE_ENV (empty =
// not production). Keys config_keys() does not list are ignored.
//
// Thread safety: a CacheConfig is a plain value. from_env() reads the
// environment; do not call setenv()/unsetenv() concurrently with it.
#pragma once

#include <chrono>
#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "cachet/export.hpp"
#include "cachet/invalidation.hpp"
#include "cachet/redis_cache.hpp"
#include "cachet/simple_cache.hpp"

namespace cachet {

/// Which backend the configuration asks for.
enum class CacheType { simple, redis, null, hybrid };

/// What the factory does when Redis is asked for but cannot be reached.
enum class FallbackMode {
  startup,  ///< probe once at creation; on failure build a SimpleCache instead
  none,     ///< an unreachable Redis is an error (BackendError)
  runtime,  ///< wrap Redis in FallbackCache: memory while Redis is down, at start-up or later
};

/// "simple", "redis", "null", "hybrid".
CACHET_EXPORT const char* to_string(CacheType type) noexcept;
/// "startup", "none", "runtime".
CACHET_EXPORT const char* to_string(FallbackMode mode) noexcept;

/// One configuration key, as documented to users.
struct ConfigKeyInfo {
  std::string name;           ///< the environment / map key, e.g. "CACHE_THRESHOLD"
  std::string default_value;  ///< the default as a user reads it, e.g. "10000" or "5s"
  std::string accepted;       ///< what a value may be (the text ConfigError messages use)
  std::string help;           ///< one line: what the key is for
  bool secret = false;        ///< the value may hold a credential; cachet never prints it
};

/// Every key from_env() / from_map() read, in the order to_string() prints
/// them. Never throws (but std::bad_alloc).
CACHET_EXPORT std::vector<ConfigKeyInfo> config_keys();

struct CACHET_EXPORT CacheConfig {
  /// CACHE_TYPE. Default simple.
  CacheType type = CacheType::simple;
  /// REDIS_URL; default redis://localhost:6379/0. May hold a password: never
  /// print it, use to_string().
  std::string redis_url = "redis://localhost:6379/0";
  /// True when REDIS_URL was given explicitly (the production rule needs it).
  bool redis_url_set = false;
  /// CACHE_KEY_PREFIX; default "cachet:". Used by RedisCache (and its probe key).
  std::string key_prefix = "cachet:";
  /// True when CACHE_KEY_PREFIX was given explicitly. When it was not, a
  /// `key_prefix` query parameter in REDIS_URL applies; when both are given
  /// they must agree (validate() throws otherwise).
  bool key_prefix_set = false;
  /// CACHE_DEFAULT_TIMEOUT; default 300 s; Ttl::never() for 0. Must not be Ttl{} (the "default" marker).
  Ttl default_timeout = std::chrono::seconds(300);
  /// CACHE_THRESHOLD (SimpleCache max_items). Default 10,000; >= 1.
  std::size_t threshold = 10'000;
  /// CACHE_MAX_BYTES (SimpleCache max_bytes). Default 64 MiB; >= 1.
  std::size_t max_bytes = std::size_t{64} << 20;
  /// CACHE_REDIS_CONNECT_TIMEOUT; overrides the URL's connect_timeout when set. 1 ms .. 10 min.
  std::optional<std::chrono::milliseconds> redis_connect_timeout;
  /// CACHE_REDIS_SOCKET_TIMEOUT; overrides the URL's socket_timeout when set. 1 ms .. 10 min.
  std::optional<std::chrono::milliseconds> redis_socket_timeout;
  /// CACHE_REDIS_POOL_SIZE; overrides the URL's pool_size when set. 1..1024.
  std::optional<int> redis_pool_size;
  /// CACHE_REDIS_TLS_CA_CERTS, _CERTFILE, _KEYFILE, _SERVER_NAME: override the
  /// rediss:// URL's ssl_ca_certs, ssl_certfile, ssl_keyfile, ssl_server_name
  /// when set (TlsOptions). They do not turn TLS on: with a plaintext URL they
  /// are a ConfigError. Default unset.
  std::optional<std::string> redis_tls_ca_certs;
  std::optional<std::string> redis_tls_certfile;
  std::optional<std::string> redis_tls_keyfile;
  std::optional<std::string> redis_tls_server_name;
  /// CACHE_REDIS_TLS_CERT_REQS: overrides ssl_cert_reqs (required, optional, none). Default unset.
  std::optional<TlsOptions::CertReqs> redis_tls_cert_reqs;
  /// CACHE_REDIS_TLS_CHECK_HOSTNAME: overrides ssl_check_hostname. Default unset.
  std::optional<bool> redis_tls_check_hostname;
  /// The Redis topology CACHE_TYPE names: cluster for RedisClusterCache,
  /// sentinel for RedisSentinelCache, standalone otherwise (then REDIS_URL's
  /// scheme decides: redis+cluster:// and redis+sentinel:// work too).
  RedisTopology redis_topology = RedisTopology::standalone;
  /// CACHE_REDIS_CLUSTER (Flask-Caching): seed nodes "host1:port1,host2:port2"
  /// for CACHE_TYPE=RedisClusterCache, instead of a redis+cluster:// REDIS_URL. Default empty.
  std::string redis_cluster;
  /// CACHE_REDIS_SENTINELS (Flask-Caching): sentinels "host1:port1,..." for
  /// CACHE_TYPE=RedisSentinelCache, with CACHE_REDIS_SENTINEL_MASTER. Default empty.
  std::string redis_sentinels;
  /// CACHE_REDIS_SENTINEL_MASTER (Flask-Caching): the master's name. Default empty.
  std::string redis_sentinel_master;
  /// CACHE_REDIS_PASSWORD (Flask-Caching): the data nodes' password, for
  /// configurations without a REDIS_URL password. Never printed. Default empty.
  std::string redis_password;
  /// CACHE_FALLBACK. Default runtime (FallbackCache for CACHE_TYPE=redis).
  FallbackMode fallback = FallbackMode::runtime;
  /// CACHE_BREAKER_THRESHOLD: consecutive failures that open the breaker (runtime fallback). Default 3; 1..1000.
  int breaker_threshold = 3;
  /// CACHE_BREAKER_COOLDOWN: time the breaker stays open before probing again. Default 5 s; 1 ms .. 1 h.
  std::chrono::milliseconds breaker_cooldown{5000};
  /// CACHE_JOURNAL_MAX: keys remembered for replay during an outage. Default 10,000; 1..10,000,000.
  std::size_t journal_max = 10'000;
  /// CACHE_FAIL_SAFE: get_or_set keeps values past their ttl and serves them
  /// when loading fails (LoadOptions::fail_safe). Default false.
  bool fail_safe = false;
  /// CACHE_FAIL_SAFE_MAX: how long past ttl a value may be served. Default 24 h; 1 s .. 30 days.
  std::chrono::milliseconds fail_safe_max{std::chrono::hours(24)};
  /// CACHE_FAIL_SAFE_THROTTLE: a stale value served after a failure counts as
  /// fresh this long. Default 30 s; 1 ms .. 1 h.
  std::chrono::milliseconds fail_safe_throttle{std::chrono::seconds(30)};
  /// CACHE_LOADER_SOFT_TIMEOUT: answer stale after this long. Default 0 (none); 0 .. 10 min.
  std::chrono::milliseconds loader_soft_timeout{0};
  /// CACHE_LOADER_HARD_TIMEOUT: answer stale or TimeoutError after this long. Default 0 (none); 0 .. 10 min.
  std::chrono::milliseconds loader_hard_timeout{0};
  /// CACHE_EAGER_REFRESH: fraction of ttl after which a hit reloads in the
  /// background. Default 0 (off); 0 or a fraction in (0, 1).
  double eager_refresh = 0;
  /// CACHE_DISTRIBUTED_LOCK: one loader per key across processes. Default false.
  bool distributed_lock = false;
  /// CACHE_LOADER_THREADS: threads a cache runs background loads on. Default 2; 1..64.
  std::size_t loader_threads = 2;
  /// CACHE_L1_MAX_ITEMS: entries in a hybrid cache's L1. Default 10,000; 1..1,000,000,000.
  std::size_t l1_max_items = 10'000;
  /// CACHE_L1_MAX_BYTES: key + value bytes in a hybrid cache's L1. Default 64 MiB; >= 1.
  std::size_t l1_max_bytes = std::size_t{64} << 20;
  /// CACHE_L1_MAX_TTL: longest life of an L1 entry (HybridOptions::l1_max_ttl). Default 60 s; 1 ms .. 1 day.
  std::chrono::milliseconds l1_max_ttl{60'000};
  /// CACHE_L1_INVALIDATION: how the L1 is kept coherent. Default bcast.
  InvalidationMode l1_invalidation = InvalidationMode::bcast;
  /// CACHE_L1_HEARTBEAT: the invalidation channel's heartbeat. Default 1 s; 10 ms .. 1 min.
  std::chrono::milliseconds l1_heartbeat{1000};
  /// APP_ENV / CACHE_ENV, lower-cased; empty when unset.
  std::string environment;

  /// Reads the process environment; unset keys keep their defaults. Validates
  /// (ConfigError on the first malformed value or broken rule).
  static CacheConfig from_env();
  /// Reads the same keys from a map; absent keys keep their defaults, keys
  /// config_keys() does not list are ignored. Validates (ConfigError).
  static CacheConfig from_map(const std::map<std::string, std::string>& values);

  /// True when APP_ENV / CACHE_ENV is "production".
  bool production() const noexcept { return environment == "production"; }

  /// True for the types backed by Redis (redis, hybrid): REDIS_URL applies.
  bool uses_redis() const noexcept { return type == CacheType::redis || type == CacheType::hybrid; }

  /// Throws ConfigError when a field is out of range or the configuration is
  /// inconsistent: the production rule (CACHE_TYPE=redis or hybrid in production requires
  /// an explicit REDIS_URL), and for CACHE_TYPE=redis a REDIS_URL that does not
  /// parse or disagrees with CACHE_KEY_PREFIX. REDIS_URL is not looked at for
  /// other types (it is often shared with other components).
  void validate() const;

  /// RedisOptions for these settings: REDIS_URL (or the Flask-Caching
  /// CACHE_REDIS_CLUSTER / CACHE_REDIS_SENTINELS keys), then the prefix,
  /// default timeout and the CACHE_REDIS_* overrides. Throws ConfigError when
  /// the URL is malformed (password redacted in the message) or the keys mix
  /// topologies (the message names both keys).
  RedisOptions redis_options() const;
  /// SimpleCacheOptions for these settings (threshold, max_bytes, default timeout).
  SimpleCacheOptions simple_options() const;
  /// The get_or_set defaults these settings give every cache the factory builds
  /// (Cache::set_load_defaults): fail-safe, timeouts, eager refresh, lock.
  LoadOptions load_options() const;

  /// The effective configuration, one KEY=value per line, REDIS_URL's password
  /// shown as "***".
  std::string to_string() const;
};

}  // namespace cachet
