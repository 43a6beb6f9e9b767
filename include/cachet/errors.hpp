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

/// What kind of backend failure happened.
enum class ErrorKind {
  connection,      ///< could not connect, connection reset, EOF, AUTH/SELECT failed
  timeout,         ///< connect or command timed out
  protocol,        ///< the peer does not speak the Redis protocol
  reply,           ///< the server answered with an error (OOM, WRONGTYPE, NOAUTH, ...)
  pool_exhausted,  ///< no pooled connection became free within pool_wait_timeout
};

/// The stable lower-case name of an ErrorKind ("connection", "timeout", ...).
CACHET_EXPORT const char* to_string(ErrorKind kind) noexcept;

/// A backend operation failed. Thrown only under ErrorPolicy::Throw, and by
/// CacheFactory in `none` fallback mode.
class CACHET_EXPORT BackendError : public Error {
 public:
  BackendError(ErrorKind kind, const std::string& what) : Error(what), kind_(kind) {}
  ErrorKind kind() const noexcept { return kind_; }

 private:
  ErrorKind kind_;
};

/// What a backend does when an operation fails.
enum class ErrorPolicy {
  FailOpen,  ///< default: behave as a miss / false / nullopt, count it, log it (rate-limited)
  Throw,     ///< throw BackendError
};

}  // namespace cachet
