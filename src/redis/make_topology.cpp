// The Topology RedisOptions asks for, and the settings every connection of it
// shares: credentials, timeouts and the cache's one TLS context, which reaches
// the standalone server, every Cluster node (seeds and discovered nodes alike)
// and, for Sentinel, the master's pools and the sentinels.
#include "redis/make_topology.hpp"

#include "core/log.hpp"
#include "net/tls.hpp"
#include "redis/cluster_topology.hpp"
#include "redis/sentinel_topology.hpp"
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

// Where the cache connects, for messages: the server, or the first node named.
std::string describe_target(const RedisOptions& o) {
  if (o.topology == RedisTopology::standalone) {
    Endpoint e;
    e.host = o.host;
    e.port = o.port;
    e.unix_socket = o.unix_socket;
    return e.describe();
  }
  return o.nodes.empty() ? std::string("(no nodes)") : endpoints(o.nodes).front().describe();
}

// The TLS context every connection of the cache shares (null without TLS).
// Reads the CA, certificate and key files now: ConfigError names an unusable
// one. Warns once per cache when certificates are not verified.
std::shared_ptr<const net::TlsContext> tls_context(const RedisOptions& o) {
  if (!o.tls.enabled) return nullptr;  // (TLS over a unix socket is refused by RedisOptions::validate())
  auto context = std::make_shared<const net::TlsContext>(o.tls);
  if (o.tls.cert_reqs == TlsOptions::CertReqs::none) {
    detail::log()->warn(
        "redis {}: TLS certificate verification is off (ssl_cert_reqs=none): the connection is encrypted, but "
        "anyone on the network path can pose as the server and read or change cached data",
        describe_target(o));
  }
  return context;
}

}  // namespace

std::unique_ptr<Topology> make_topology(const RedisOptions& options) {
  ConnectionSettings settings;
  settings.username = options.username;
  settings.password = options.password;
  settings.db = options.db;
  settings.connect_timeout = options.connect_timeout;
  settings.socket_timeout = options.socket_timeout;
  settings.keepalive = options.keepalive;
  settings.tls = tls_context(options);
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
