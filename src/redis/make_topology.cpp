// The Topology RedisOptions asks for. Every connection of it shares one
// ConnectionSettings (settings.cpp): credentials, timeouts, the per-connection
// setup and the cache's one TLS context, which reaches the standalone server,
// every Cluster node (seeds and discovered nodes alike) and, for Sentinel, the
// master's pools and the sentinels.
#include "redis/make_topology.hpp"

#include "redis/cluster_topology.hpp"
#include "redis/sentinel_topology.hpp"
#include "redis/settings.hpp"
#include "redis/url.hpp"

namespace cachet::redis {

namespace {

std::vector<Endpoint> endpoints(const std::vector<RedisNode>& nodes) {
  std::vector<Endpoint> out;
  for (const auto& n : nodes) {
    Endpoint e;
    e.host = n.host;
    e.port = n.port;
    out.push_back(std::move(e));
  }
  return out;
}

}  // namespace

std::unique_ptr<Topology> make_topology(const RedisOptions& options, bool warn_unverified) {
  ConnectionSettings settings = connection_settings(options, warn_unverified);
  PoolSettings pools;
  pools.connection = settings;
  pools.size = effective_pool_size(options);
  pools.wait_timeout = options.pool_wait_timeout;
  pools.max_redirects = options.max_redirects;

  switch (options.topology) {
    case RedisTopology::cluster: {
      ClusterConfig c;
      c.seeds = endpoints(options.nodes);
      c.pools = std::move(pools);
      c.read_from_replicas = options.read_from_replicas;
      c.refresh_interval = options.slot_refresh_interval;
      return std::make_unique<ClusterTopology>(std::move(c));
    }
    case RedisTopology::sentinel: {
      SentinelConfig c;
      c.sentinels = endpoints(options.nodes);
      c.master_name = options.sentinel_master;
      c.sentinel_settings.username = options.sentinel_username;
      c.sentinel_settings.password = options.sentinel_password;
      c.sentinel_settings.connect_timeout = options.connect_timeout;
      c.sentinel_settings.socket_timeout = options.socket_timeout;
      c.sentinel_settings.keepalive = options.keepalive;
      c.sentinel_settings.tls = settings.tls;  // rediss+sentinel://: the sentinels speak TLS too
      c.pools = std::move(pools);
      return std::make_unique<SentinelTopology>(std::move(c));
    }
    case RedisTopology::standalone: break;
  }
  Endpoint endpoint;
  endpoint.host = options.host;
  endpoint.port = options.port;
  endpoint.unix_socket = options.unix_socket;
  return std::make_unique<StandaloneTopology>(
      std::make_unique<Pool>(std::move(endpoint), std::move(settings), pools.size, options.pool_wait_timeout));
}

}  // namespace cachet::redis
