#include "redis/settings.hpp"

#include "cachet/errors.hpp"
#include "core/log.hpp"
#include "net/tls.hpp"

namespace cachet::redis {

Endpoint endpoint_of(const RedisOptions& options) { return {options.host, options.port, options.unix_socket}; }

ConnectionSettings connection_settings(const RedisOptions& o, bool warn) {
  ConnectionSettings settings;
  settings.username = o.username;
  settings.password = o.password;
  settings.db = o.db;
  settings.connect_timeout = o.connect_timeout;
  settings.socket_timeout = o.socket_timeout;
  settings.keepalive = o.keepalive;
  settings.setup = o.connection_setup;
  if (!o.tls.enabled) return settings;
  if (!o.unix_socket.empty()) {
    throw ConfigError("TLS (rediss://, tls.enabled) cannot be used with a unix socket ('" + o.unix_socket +
                      "'): Redis serves TLS on TCP ports only; set host and port instead");
  }
  settings.tls = std::make_shared<const net::TlsContext>(o.tls);
  if (warn && o.tls.cert_reqs == TlsOptions::CertReqs::none) {
    detail::log()->warn(
        "redis {}: TLS certificate verification is off (ssl_cert_reqs=none): the connection is encrypted, but "
        "anyone on the network path can pose as the server and read or change cached data",
        endpoint_of(o).describe());
  }
  return settings;
}

}  // namespace cachet::redis
