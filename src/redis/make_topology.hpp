// Internal: the Topology that RedisOptions::topology asks for.
#pragma once

#include <memory>

#include "cachet/redis_cache.hpp"
#include "redis/topology.hpp"

namespace cachet::redis {

/// A StandaloneTopology, ClusterTopology or SentinelTopology for `options`
/// (validated), its pools sharing one TLS context when options.tls is enabled
/// (the files are read now: ConfigError). Connects to nothing. With
/// `warn_unverified`, warns once when TLS certificates are not verified (a
/// second topology of the same cache passes false: one warning per cache).
std::unique_ptr<Topology> make_topology(const RedisOptions& options, bool warn_unverified = true);

}  // namespace cachet::redis
