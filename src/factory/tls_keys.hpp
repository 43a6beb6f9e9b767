// Internal: the CACHE_REDIS_TLS_* configuration keys. Their builders (rows of
// config_keys.cpp) and the rule that applies them: each overrides the same
// setting of a rediss:// REDIS_URL, as the other CACHE_REDIS_* keys override
// the URL, and none turns TLS on by itself.
#pragma once

#include <optional>
#include <string>

#include "cachet/config.hpp"
#include "factory/config_keys.hpp"

namespace cachet::detail {

/// A text key (a file, a name) overriding `tls_field` of the URL's TLS
/// options; `query` is the URL's spelling, for the displayed default.
KeyValue tls_text(std::optional<std::string> CacheConfig::*field, std::string TlsOptions::*tls_field,
                  const char* query, const char* accepted);
/// CACHE_REDIS_TLS_CERT_REQS: required, optional or none.
KeyValue tls_cert_reqs();
/// CACHE_REDIS_TLS_CHECK_HOSTNAME: a boolean.
KeyValue tls_check_hostname();

/// Applies the CACHE_REDIS_TLS_* keys that are set to `options` (parsed from
/// `source`, e.g. "REDIS_URL"). ConfigError naming the keys when one is set
/// and the options do not use TLS.
void apply_tls_keys(const CacheConfig& config, RedisOptions& options, const char* source);

}  // namespace cachet::detail
