// Internal: the Topology that RedisOptions::topology asks for.
#pragma once

#include <memory>

#include "cachet/redis_cache.hpp"
#include "redis/topology.hpp"

namespace cachet::redis {

/// A StandaloneTopology, ClusterTopology or SentinelTopology for `options`
/// (validated), its pools sharing one TLS context when options.tls is enabled
/// (the files are read now: ConfigError). Connects to nothing.
std::unique_ptr<Topology> make_topology(const RedisOptions& options);

}  // namespace cachet::redis
