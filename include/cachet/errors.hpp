// cachet/errors.hpp — the exceptions cachet throws, and the error policy.
//
// A cache miss is never an error. Configuration and programming mistakes throw
// ConfigError (or std::invalid_argument for a bad argument such as a negative
// Ttl) with a message naming the offending value and what is accepted. Backend
// failures (Redis down, timeouts, error replies) are by default absorbed: the
// operation behaves as a miss / `false`, is counted in `Cache::stats()` and is
// logged, rate-limited. With ErrorPolicy::Throw they throw BackendError instead.
//
// All classes here have default visibility, so they can be caught across a
// shared-library boundary. Messages never contain a password.
#pragma once

#include <stdexcept>
#include <string>

#include "cachet/export.hpp"

namespace cachet {

/// Base of every exception cachet throws (except std::invalid_argument for
/// invalid function arguments).
class CACHET_EXPORT Error : public std::runtime_error {
 public:
  explicit Error(const std::string& what) : std::runtime_error(what) {}
};

/// Invalid configuration: a malformed URL, an out-of-range option, an unknown
/// CACHE_TYPE. The message names the key and value (secrets redacted) and what
/// is accepted.
class CACHET_EXPORT ConfigError : public Error {
 public:
  explicit ConfigError(const std::string& what) : Error(what) {}
};

/// get_or_set's hard_timeout passed with no stale value to serve (see
/// LoadOptions). The loader goes on in the background; its result is stored.
class CACHET_EXPORT TimeoutError : public Error {
 public:
  explicit TimeoutError(const std::string& what) : Error(what) {}
};

/// What kind of backend failure happened: the part of the path that failed.
enum class ErrorKind {
  connection,      ///< could not connect, connection reset, EOF, AUTH/SELECT failed
  timeout,         ///< connect or command timed out
  protocol,        ///< the peer does not speak the Redis protocol
  reply,           ///< the server answered with an error (OOM, WRONGTYPE, NOAUTH, ...)
  pool_exhausted,  ///< no pooled connection became free within pool_wait_timeout
  tls,             ///< TLS failed: certificate rejected, client certificate missing or refused,
                   ///< TLS spoken to a plaintext port or plaintext to a TLS port
                   ///< (a TLS handshake that does not finish in time is a `timeout`)
};

/// The stable lower-case name of an ErrorKind ("connection", "timeout", ...).
CACHET_EXPORT const char* to_string(ErrorKind kind) noexcept;

/// The specific condition behind a failure, where the backend recognised one.
/// A backend classifies its native errors into these once, where it maps them
/// (for Redis: the reply's error code); nothing else inspects message text.
enum class ErrorCause {
  unspecified,   ///< nothing more specific is known (see the message)
  // --- answers about one key or value: the backend itself is healthy ---
  wrong_type,    ///< the key holds a value of another type (WRONGTYPE)
  not_integer,   ///< increment of a value that is not a 64-bit integer
  overflow,      ///< increment would overflow a 64-bit integer
  // --- the backend cannot serve right now ---
  auth,          ///< authentication refused or required (NOAUTH, WRONGPASS, NOPERM)
  loading,       ///< the server is loading its dataset (LOADING)
  read_only,     ///< a write reached a replica, e.g. an old master after a failover (READONLY)
  master_down,   ///< a replica lost its master (MASTERDOWN)
  busy,          ///< the server runs a script or function (BUSY)
  out_of_memory, ///< the server refused a write at maxmemory (OOM)
  // --- Redis Cluster ---
  moved,         ///< the key's slot lives on another node (MOVED)
  ask,           ///< the key's slot is being migrated (ASK)
  try_again,     ///< a multi-key operation during a slot migration (TRYAGAIN)
  cluster_down,  ///< the cluster cannot serve the slot (CLUSTERDOWN)
  // --- TLS (rediss://) ---
  certificate_untrusted,        ///< the server's certificate does not chain to a trusted CA
  certificate_host_mismatch,    ///< the certificate names another host than the one connected to
  certificate_expired,          ///< the server's certificate has expired (or is not valid yet)
  client_certificate_required,  ///< the server requires a client certificate and none is configured
  client_certificate_rejected,  ///< the server refused the client certificate
  tls_handshake_timeout,        ///< the TLS handshake did not finish within connect_timeout (kind timeout)
  plaintext_server,             ///< rediss:// reached a server without TLS on that port
  tls_server,                   ///< redis:// (plaintext) reached a TLS port
};

/// The stable lower-case name of an ErrorCause ("wrong_type", "loading", ...).
CACHET_EXPORT const char* to_string(ErrorCause cause) noexcept;

/// What a failure says about the backend as a whole.
enum class ErrorScope {
  backend,  ///< the backend (or the way to it) cannot serve: an outage; a circuit breaker counts it
  key,      ///< a healthy backend's answer about one key or value (wrong_type, not_integer, overflow)
};

/// The scope of a cause: ErrorScope::key for wrong_type, not_integer and
/// overflow, ErrorScope::backend for every other cause.
constexpr ErrorScope scope_of(ErrorCause cause) noexcept {
  return cause == ErrorCause::wrong_type || cause == ErrorCause::not_integer || cause == ErrorCause::overflow
             ? ErrorScope::key
             : ErrorScope::backend;
}

/// A backend operation failed. Thrown only under ErrorPolicy::Throw, and by
/// CacheFactory in `none` fallback mode. Carries the kind (which part of the
/// path failed) and, where known, the cause; a wrapper decides what to do from
/// these, never from the message, which is for people.
class CACHET_EXPORT BackendError : public Error {
 public:
  BackendError(ErrorKind kind, const std::string& what, ErrorCause cause = ErrorCause::unspecified)
      : Error(what), kind_(kind), cause_(cause) {}
  ErrorKind kind() const noexcept { return kind_; }
  ErrorCause cause() const noexcept { return cause_; }
  ErrorScope scope() const noexcept { return scope_of(cause_); }
  /// True when the backend cannot serve (scope() == ErrorScope::backend).
  bool is_outage() const noexcept { return scope() == ErrorScope::backend; }

 private:
  ErrorKind kind_;
  ErrorCause cause_;
};

/// What a backend does when an operation fails.
enum class ErrorPolicy {
  FailOpen,  ///< default: behave as a miss / false / nullopt, count it, log it (rate-limited)
  Throw,     ///< throw BackendError
};

}  // namespace cachet
