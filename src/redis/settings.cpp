#include "redis/settings.hpp"

#include "core/log.hpp"
#include "net/tls.hpp"

namespace cachet::redis {

Endpoint endpoint_of(const RedisOptions& options) { return {options.host, options.port, options.unix_socket}; }

namespace {

// Where the cache connects, for messages: the server, or the first node named.
std::string describe_target(const RedisOptions& o) {
  if (o.topology == RedisTopology::standalone || o.nodes.empty()) return endpoint_of(o).describe();
  Endpoint first;
  first.host = o.nodes.front().host;
  first.port = o.nodes.front().port;
  return first.describe();
}

}  // namespace

ConnectionSettings connection_settings(const RedisOptions& o, bool warn) {
  ConnectionSettings settings;
  settings.username = o.username;
  settings.password = o.password;
  settings.db = o.db;
  settings.connect_timeout = o.connect_timeout;
  settings.socket_timeout = o.socket_timeout;
  settings.keepalive = o.keepalive;
  settings.setup = o.connection_setup;
  if (!o.tls.enabled) return settings;  // (TLS over a unix socket is refused by RedisOptions::validate())
  settings.tls = std::make_shared<const net::TlsContext>(o.tls);
  if (warn && o.tls.cert_reqs == TlsOptions::CertReqs::none) {
    detail::log()->warn(
        "redis {}: TLS certificate verification is off (ssl_cert_reqs=none): the connection is encrypted, but "
        "anyone on the network path can pose as the server and read or change cached data",
        describe_target(o));
  }
  return settings;
}

}  // namespace cachet::redis
