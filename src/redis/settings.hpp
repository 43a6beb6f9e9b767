// Internal: RedisOptions turned into what connections need — the endpoint and
// the ConnectionSettings (credentials, db, timeouts, TLS context, setup).
// Shared by RedisCache and the invalidation channel, so both connect alike.
#pragma once

#include "cachet/redis_cache.hpp"
#include "redis/connection.hpp"

namespace cachet::redis {

Endpoint endpoint_of(const RedisOptions& options);

/// The settings of `options`' connections. Reads the TLS files now
/// (ConfigError names an unusable one); with `warn`, warns once when TLS
/// certificates are not verified.
ConnectionSettings connection_settings(const RedisOptions& options, bool warn);

}  // namespace cachet::redis
