// Internal: the one place where hiredis error states and Redis error replies
// become cachet error kinds, causes and operator-readable messages. Nothing
// else in cachet looks at an error's text.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "cachet/errors.hpp"

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
  connect,    ///< establishing the TCP / unix-socket connection
  handshake,  ///< AUTH / SELECT right after connecting
  command,    ///< a cache operation's command
};

/// Everything known about one raw error, as hiredis or the server reported it.
struct RawError {
  Stage stage = Stage::command;
  /// hiredis' context error (REDIS_ERR_IO, _EOF, _PROTOCOL, _OOM, _OTHER), or 0
  /// when the server answered with an error reply (then `text` is that reply).
  int hiredis_err = 0;
  /// errno captured right after the failing hiredis call (0 when unknown).
  int sys_errno = 0;
  /// hiredis' errstr, or the server's error reply.
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
  /// The connection must not be used again (hiredis contexts are unusable after
  /// an I/O, EOF or protocol error; NOAUTH/READONLY call for a fresh handshake).
  bool discard_connection = true;
};

/// Maps hiredis error states and Redis error replies to an ErrorKind:
///   REDIS_ERR_IO      -> timeout (EAGAIN/ETIMEDOUT), else connection ("refused", "reset", ...)
///   REDIS_ERR_EOF     -> connection (the server closed the connection)
///   REDIS_ERR_PROTOCOL-> protocol (the peer does not speak RESP)
///   REDIS_ERR_OOM / REDIS_ERR_OTHER -> connection (name resolution, client-side failures)
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
