// cachet/redis_cache.hpp — the Redis backend (synchronous; plain TCP, unix
// socket or TLS).
//
// RedisCache stores every key as `key_prefix + key` in one Redis database: a
// standalone server, a Redis Cluster (keys routed by hash slot, one pool per
// node, MOVED/ASK followed) or the master a set of Sentinels names (followed
// across failovers); RedisOptions::topology picks, docs/redis.md explains.
// Values are bytes, sent as RESP bulk strings (never interpolated into a
// command line); hiredis parses the replies. Each operation borrows
// a connection from a pool through an RAII guard; a connection that saw an I/O
// error, EOF, protocol error or timeout is discarded and replaced lazily, so
// after a Redis restart operations succeed again without recreating the cache.
// Every network wait is bounded: connect_timeout, socket_timeout per command,
// pool_wait_timeout for a free connection.
//
// Failures follow `on_error`: FailOpen (default) makes the operation behave as a
// miss / false, counts it in stats() (errors and errors_<kind>) and logs it,
// rate-limited; Throw throws BackendError with its ErrorKind.
//
// Commands: get GET, set SET PX (plain SET for Ttl::never()), add SET NX PX,
// remove UNLINK, contains EXISTS, get_many one MGET, set_many one pipelined round
// trip of SET PX (one MSET for never), remove_many one UNLINK, ttl PTTL, touch
// PEXPIRE (PERSIST + EXISTS for never), ping PING. increment sends
// MULTI / SET k 0 NX PX <default_timeout> / INCRBY k delta / EXEC in one round
// trip: atomic, so a counter it creates always has the default timeout and an
// existing counter keeps its expiry. clear() SCANs `key_prefix*` (glob
// characters in the prefix escaped) with COUNT 1000 and UNLINKs each batch;
// never KEYS. Expiries beyond what Redis accepts are clamped (2^62 ms).
// docs/redis.md has the details.
//
// Thread safety: safe to share between threads (up to pool_size operations run
// in parallel per node; others wait up to pool_wait_timeout). The constructor never
// contacts the server — it throws only for invalid options — so a cache can be
// created while Redis is down. This header includes no hiredis header.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cachet/cache.hpp"
#include "cachet/errors.hpp"
#include "cachet/export.hpp"
#include "cachet/tls_options.hpp"

namespace cachet {

namespace redis {
class ConnectionSetup;  // internal: per-connection commands (see redis_invalidation_channel)
}
class InvalidationChannel;
struct InvalidationOptions;

/// How the Redis deployment is laid out.
enum class RedisTopology {
  standalone,  ///< one server: host and port, or unix_socket
  cluster,     ///< Redis Cluster: `nodes` are seed nodes; the rest is discovered (CLUSTER SLOTS)
  sentinel,    ///< Sentinel: `nodes` are sentinels; they name the master of `sentinel_master`
};

/// "standalone", "cluster", "sentinel".
CACHET_EXPORT const char* to_string(RedisTopology topology) noexcept;

/// A TCP endpoint: a cluster seed node or a sentinel.
struct RedisNode {
  std::string host;  ///< host name or IP address (IPv6 without brackets)
  int port = 6379;   ///< 1-65535
  bool operator==(const RedisNode& o) const { return host == o.host && port == o.port; }
};

struct CACHET_EXPORT RedisOptions {
  // --- topology ---
  /// standalone (default), cluster or sentinel.
  RedisTopology topology = RedisTopology::standalone;
  /// Cluster: seed nodes; Sentinel: the sentinels, asked in this order. At
  /// least one for those topologies, none for standalone (host, port and
  /// unix_socket are not used by the others). Default empty.
  std::vector<RedisNode> nodes;
  /// Sentinel: the master's name as the sentinels know it. Default empty.
  std::string sentinel_master;
  /// Sentinel: ACL user for the sentinels themselves; empty = AUTH with the
  /// password only. Default empty.
  std::string sentinel_username;
  /// Sentinel: password for the sentinels (the data nodes use `password`);
  /// empty = no AUTH. Never logged, never in a message.
  std::string sentinel_password;
  /// Cluster: send reads (get, get_many, contains, ttl) to replicas, which may
  /// answer with data a few milliseconds stale (READONLY). Default false.
  bool read_from_replicas = false;
  /// Cluster: re-read the slot map this often even when nothing hints at a
  /// change (it is also re-read after MOVED and lost connections, at most
  /// every 100 ms). Default 30 s; 1 s to 1 h.
  std::chrono::milliseconds slot_refresh_interval{30000};
  /// Cluster: MOVED / ASK redirects one operation follows before it fails
  /// (Sentinel: re-resolutions after READONLY). Default 5; 0 to 16.
  int max_redirects = 5;

  // --- connection ---
  /// Host name (letters, digits, '-', '.', '_') or IP address (IPv6 without
  /// brackets: hex digits, ':' and '.'). Default "localhost".
  std::string host = "localhost";
  /// TCP port, 1-65535. Default 6379.
  int port = 6379;
  /// Absolute path of a unix socket (at most 107 bytes, no control bytes such
  /// as NUL); when set, host and port are ignored. Default empty.
  std::string unix_socket;
  /// Database index selected after connecting (SELECT when != 0). Default 0.
  int db = 0;
  /// ACL user name (Redis >= 6); empty = AUTH with the password only.
  std::string username;
  /// Password for AUTH; empty = no AUTH. Never logged, never in a message.
  std::string password;
  /// Bound on establishing one connection (TCP connect + TLS handshake + AUTH + SELECT). Default 250 ms; 1 ms to 10 min.
  std::chrono::milliseconds connect_timeout{250};
  /// Bound on each command: the longest wait for the socket to accept the
  /// request or deliver (more of) the reply. Default 500 ms; 1 ms to 10 min.
  std::chrono::milliseconds socket_timeout{500};
  /// Most connections held open (and operations in parallel) per node: one
  /// node for standalone and Sentinel, each node of a Cluster. Default 0 =
  /// automatic: 2 x hardware threads, at least 2, at most 16. Up to 1024.
  /// Connections open lazily, when an operation needs one.
  int pool_size = 0;
  /// How long an operation waits for a free connection before failing with
  /// ErrorKind::pool_exhausted. Default 1000 ms; 1 ms to 10 min.
  std::chrono::milliseconds pool_wait_timeout{1000};
  /// TCP keepalive on each TCP connection (hiredis' interval). Default on.
  bool keepalive = true;
  /// TLS (rediss://): off by default; see tls_options.hpp. connect_timeout
  /// then also bounds the TLS handshake. Not with a unix socket (ConfigError).
  TlsOptions tls;

  // --- cache behaviour ---
  /// Prepended to every key; clear() removes only keys under it. Default "cachet:".
  std::string key_prefix = "cachet:";
  /// Expiry for operations that pass the default Ttl, and for counters created
  /// by increment(). Default 300 s; Ttl::never() = none.
  Ttl default_timeout = std::chrono::seconds(300);
  /// FailOpen (default) or Throw; see errors.hpp. Either way a failure is
  /// counted in stats().errors and errors_<kind>. increment() of a value that
  /// is not an integer (or would overflow) is not a failure: it returns
  /// nullopt, is not counted as an error and never throws.
  ErrorPolicy on_error = ErrorPolicy::FailOpen;
  /// With an empty key_prefix, clear() refuses (returns false) unless this is
  /// set, in which case it runs FLUSHDB. Default false.
  bool allow_flushdb = false;
  /// Internal hook, set by redis_invalidation_channel() for the L2 of a
  /// HybridCache: commands each new connection runs after AUTH/SELECT.
  /// Leave it empty. Not part of to_string() or the URL.
  std::shared_ptr<redis::ConnectionSetup> connection_setup;

  /// Parses a URL:
  ///   redis://[[username]:password@]host[:port][/db][?query]
  ///   unix:///path/to/redis.sock[?db=N&password=...&username=...]
  ///   redis+cluster://[[username]:password@]host1[:port1][,host2[:port2]...][/0][?query]
  ///   redis+sentinel://[[username]:password@]host1[:port1][,...]/<master>[/db][?query]
  /// and rediss://, rediss+cluster://, rediss+sentinel:// for the same over
  /// TLS (every data node; the sentinels too). Cluster ports default to 6379,
  /// sentinel ports to 26379; the credentials are the data nodes'. Query
  /// keys: connect_timeout, socket_timeout, pool_wait_timeout (durations:
  /// "250ms", "1s", "2m", or a bare number of milliseconds), pool_size, db,
  /// username, password, key_prefix; for a cluster read_from_replicas
  /// (boolean), slot_refresh_interval (duration), max_redirects; for sentinels
  /// sentinel_username, sentinel_password and max_redirects; with rediss the
  /// `tls` fields in redis-py's spelling: ssl_cert_reqs, ssl_ca_certs,
  /// ssl_ca_path, ssl_certfile, ssl_keyfile, ssl_password (secret),
  /// ssl_check_hostname, ssl_server_name, ssl_min_version (tls_options.hpp).
  /// IPv6 hosts in brackets: redis://[::1]:6380/2. Credentials may be
  /// percent-encoded (p%40ss -> p@ss). Anything malformed (an ssl_* key
  /// without rediss, TLS with a unix socket, an unreadable certificate file)
  /// throws ConfigError naming the URL with its secrets redacted. Fields the
  /// URL does not mention keep their defaults.
  static RedisOptions from_url(std::string_view url);

  /// Throws ConfigError naming the first invalid field and what is accepted.
  void validate() const;

  /// A URL equivalent to these options, passwords (sentinel_password,
  /// ssl_password too) as "***".
  std::string redacted_url() const;

  /// Every field on one line, passwords (sentinel_password, tls.key_password too) as "***".
  std::string to_string() const;

 private:
  void validate_topology() const;
};

class CACHET_EXPORT RedisCache final : public Cache {
 public:
  /// Validates `options` (ConfigError when invalid); does not connect — the
  /// first operation does, lazily.
  explicit RedisCache(RedisOptions options);
  ~RedisCache() override;

  std::string_view backend() const noexcept override { return "redis"; }
  /// The options this cache was built with (password included: do not log
  /// them; use RedisOptions::to_string()).
  const RedisOptions& options() const noexcept;

  /// The TLS version, cipher and server certificate of a connection to the
  /// server (opened if none is; for CacheFactory's probe and `cachet probe`).
  /// nullopt without TLS, and when no connection can be had: that failure is
  /// handled like an operation's (counted; logged, or thrown under Throw).
  std::optional<TlsSessionInfo> tls_session();

 protected:
  /// Adds cachet_redis_roundtrip_seconds (a histogram of command round trips).
  void collect_metrics(MetricsWriter& out) const override;

 private:
  Value do_get(std::string_view key) override;
  bool do_set(std::string_view key, std::string_view value, Ttl ttl) override;
  bool do_add(std::string_view key, std::string_view value, Ttl ttl) override;
  bool do_remove(std::string_view key) override;
  bool do_contains(std::string_view key) override;
  std::vector<Value> do_get_many(const KeyList& keys) override;
  bool do_set_many(const ItemList& items, Ttl ttl) override;
  std::size_t do_remove_many(const KeyList& keys) override;
  std::optional<std::int64_t> do_increment(std::string_view key, std::int64_t delta) override;
  std::optional<Ttl> do_ttl(std::string_view key) override;
  bool do_touch(std::string_view key, Ttl ttl) override;
  bool do_clear() override;
  bool do_ping() override;
  Ttl do_default_timeout() const noexcept override { return options().default_timeout; }
  LockResult do_try_lock(std::string_view lock_key, std::string_view token, Ttl ttl) override;
  void do_unlock(std::string_view lock_key, std::string_view token) override;

  struct Impl;
  std::unique_ptr<Impl> impl_;
};

/// The invalidation channel of a HybridCache whose L2 is a RedisCache built
/// from `l2` (afterwards: this function may set l2.connection_setup, so build
/// the RedisCache from `l2` after calling it). It uses its own connections
/// (same endpoint, credentials, TLS and timeouts as `l2`): a subscriber on
/// `__redis__:invalidate` (pubsub mode: on "<key_prefix>__cachet_invalidate"),
/// and a control connection (bcast: the CLIENT TRACKING registration;
/// pubsub: PUBLISH). For Cluster and Sentinel (`l2.topology`), one such pair
/// on every master, followed across failovers and reshards; ready() only while
/// every master's is registered; `tracking` is served as `bcast` there (its
/// mode_reason() says so). Does not connect: HybridCache starts it.
/// ConfigError for invalid options. See docs/hybrid.md.
CACHET_EXPORT std::unique_ptr<InvalidationChannel> redis_invalidation_channel(RedisOptions& l2,
                                                                            const InvalidationOptions& options);

}  // namespace cachet
