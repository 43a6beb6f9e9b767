// Internal: the one place where transport failures (src/net, already
// classified), hiredis reader errors and Redis error replies become cachet
// error kinds, causes and operator-readable messages. Nothing else in cachet
// looks at an error's text.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "cachet/errors.hpp"
#include "net/error.hpp"

namespace cachet::redis {

/// A failure ready to be counted, logged or thrown. `message` is specific and
/// never contains a password ("connection refused (127.0.0.1:6390)").
struct Failure {
  ErrorKind kind = ErrorKind::connection;
  std::string message;
  ErrorCause cause = ErrorCause::unspecified;

  /// True for a healthy server's answer about one key (WRONGTYPE, not an
  /// integer, overflow): the documented miss / nullopt of an operation.
  bool about_key() const noexcept { return scope_of(cause) == ErrorScope::key; }
};

/// Where in a connection's life an error happened.
enum class Stage {
  connect,    ///< establishing the TCP / unix-socket connection and the TLS session
  handshake,  ///< AUTH / SELECT right after connecting
  command,    ///< a cache operation's command
};

/// Everything known about one raw error: a transport failure (`net`), a
/// hiredis reader error (`hiredis_err`), or else an error reply (`text`).
struct RawError {
  Stage stage = Stage::command;
  /// The transport's classification; net::Cause::none when it is not a transport failure.
  net::Cause net = net::Cause::none;
  /// hiredis' reader error (REDIS_ERR_PROTOCOL, REDIS_ERR_OOM), or 0.
  int hiredis_err = 0;
  /// errno of the failing system call (0 when unknown).
  int sys_errno = 0;
  /// The transport's detail, the reader's errstr, or the server's error reply.
  std::string_view text;
  /// "127.0.0.1:6390", "[::1]:6380" or the unix socket path.
  std::string_view endpoint;
  /// The command that failed, for the message ("AUTH", "SELECT 3", "GET"); may be empty.
  std::string_view command;
  /// The timeout that applied (connect_timeout or socket_timeout).
  std::chrono::milliseconds timeout{0};
};

struct MappedError {
  Failure failure;
  /// The connection must not be used again (after an I/O, EOF, TLS or
  /// protocol error it is out of step; NOAUTH/READONLY call for a fresh handshake).
  bool discard_connection = true;
};

/// Maps failures to an ErrorKind and ErrorCause:
///   transport timeouts (connect, TLS handshake, read, write) -> timeout
///     (a TLS handshake: cause tls_handshake_timeout)
///   refused, resolve, reset, closed, other system errors -> connection
///   TLS: untrusted / host name / expired certificate, client certificate
///     required / rejected, TLS to a plaintext port, plaintext to a TLS port,
///     other TLS failures -> tls (with the matching cause)
///   REDIS_ERR_PROTOCOL (reader) -> protocol (the peer does not speak RESP)
///   REDIS_ERR_OOM (reader)      -> connection
///   error replies     -> reply (WRONGTYPE, OOM, NOAUTH, WRONGPASS, LOADING, READONLY, BUSY, ERR ...),
///                        except during the AUTH/SELECT handshake, where any error
///                        reply is a connection failure ("AUTH failed: WRONGPASS ...").
/// Error replies also get their ErrorCause from the reply's error code (see
/// reply_cause).
MappedError map_error(const RawError& raw);

/// The cause named by a Redis error reply: its first word (WRONGTYPE, LOADING,
/// READONLY, MOVED, ...), and for a generic "ERR" reply the INCRBY texts for a
/// non-integer value and an overflow. ErrorCause::unspecified otherwise.
ErrorCause reply_cause(std::string_view reply) noexcept;

/// Where a MOVED or ASK reply sends a key: "MOVED 3999 127.0.0.1:6381".
struct Redirection {
  int slot = 0;
  std::string host;  ///< empty when the server does not know its peer's address: use the replying node's host
  int port = 0;
};

/// The slot and endpoint of a MOVED or ASK error reply (IPv6 hosts come without
/// brackets: the last ':' separates the port). nullopt for any other reply or a
/// malformed one.
std::optional<Redirection> parse_redirection(std::string_view reply);

}  // namespace cachet::redis
