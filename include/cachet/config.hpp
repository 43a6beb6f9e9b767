// cachet/config.hpp — choosing and configuring a cache from settings.
//
// CacheConfig is a plain struct with safe defaults. from_env() reads the
// process environment, from_map() reads the same keys from a map (for
// applications with their own configuration system); both validate and throw
// ConfigError naming the key, the value (redacted when secret) and what is
// accepted. docs/configuration.md lists every key.
//
//   CACHE_TYPE                  simple (default) | redis | null — also SimpleCache,
//                               RedisCache, NullCache; case-insensitive
//   REDIS_URL                   default redis://localhost:6379/0 (syntax: RedisOptions::from_url)
//   CACHE_KEY_PREFIX            default "cachet:"
//   CACHE_DEFAULT_TIMEOUT       seconds, default 300, 0 = never expire
//   CACHE_THRESHOLD             SimpleCache max_items, default 10000
//   CACHE_MAX_BYTES             SimpleCache max_bytes, default 67108864
//   CACHE_REDIS_CONNECT_TIMEOUT milliseconds, default 250
//   CACHE_REDIS_SOCKET_TIMEOUT  milliseconds, default 500
//   CACHE_REDIS_POOL_SIZE       default automatic
//   CACHE_FALLBACK              startup | none | runtime
//   CACHE_BREAKER_THRESHOLD, CACHE_BREAKER_COOLDOWN, CACHE_JOURNAL_MAX (runtime fallback)
//   APP_ENV / CACHE_ENV         "production" turns on production validation
//
// Thread safety: a CacheConfig is a value; from_env() reads the environment
// (do not call setenv concurrently).
#pragma once

#include <chrono>
#include <cstddef>
#include <map>
#include <optional>
#include <string>

#include "cachet/export.hpp"
#include "cachet/redis_cache.hpp"
#include "cachet/simple_cache.hpp"

namespace cachet {

/// Which backend the configuration asks for.
enum class CacheType { simple, redis, null };

/// What the factory does when Redis is asked for but cannot be reached.
enum class FallbackMode {
  startup,  ///< probe once at creation; on failure build a SimpleCache instead
  none,     ///< an unreachable Redis is an error (BackendError)
  runtime,  ///< wrap Redis in FallbackCache: memory while Redis is down, at start-up or later
};

CACHET_EXPORT const char* to_string(CacheType type) noexcept;
CACHET_EXPORT const char* to_string(FallbackMode mode) noexcept;

struct CACHET_EXPORT CacheConfig {
  CacheType type = CacheType::simple;
  /// REDIS_URL; default redis://localhost:6379/0.
  std::string redis_url = "redis://localhost:6379/0";
  /// True when REDIS_URL was given explicitly (the production rule needs it).
  bool redis_url_set = false;
  std::string key_prefix = "cachet:";
  /// CACHE_DEFAULT_TIMEOUT; Ttl::never() for 0.
  Ttl default_timeout = std::chrono::seconds(300);
  std::size_t threshold = 10'000;                  ///< CACHE_THRESHOLD (SimpleCache max_items)
  std::size_t max_bytes = std::size_t{64} << 20;   ///< CACHE_MAX_BYTES (SimpleCache)
  std::optional<std::chrono::milliseconds> redis_connect_timeout;  ///< overrides the URL / default when set
  std::optional<std::chrono::milliseconds> redis_socket_timeout;   ///< overrides the URL / default when set
  std::optional<int> redis_pool_size;                              ///< overrides the URL / default when set
  FallbackMode fallback = FallbackMode::startup;
  /// Consecutive failures that open the breaker (runtime fallback). Default 3.
  int breaker_threshold = 3;
  /// Time the breaker stays open before probing again. Default 5 s.
  std::chrono::milliseconds breaker_cooldown{5000};
  /// Keys remembered for replay during an outage. Default 10,000.
  std::size_t journal_max = 10'000;
  /// APP_ENV / CACHE_ENV, lower-cased; empty when unset.
  std::string environment;

  /// Reads the process environment; unset keys keep their defaults. Validates.
  static CacheConfig from_env();
  /// Reads the same keys from a map. Validates.
  static CacheConfig from_map(const std::map<std::string, std::string>& values);

  /// Throws ConfigError when the configuration is inconsistent (including the
  /// production rule: CACHE_TYPE=redis requires an explicit REDIS_URL).
  void validate() const;

  /// RedisOptions for these settings (URL + prefix + timeouts + overrides).
  RedisOptions redis_options() const;
  /// SimpleCacheOptions for these settings.
  SimpleCacheOptions simple_options() const;

  /// The effective configuration, one key per line, secrets redacted.
  std::string to_string() const;
};

}  // namespace cachet
