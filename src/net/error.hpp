// Internal: what went wrong in the transport, classified once where it is
// detected, so nothing above has to search message text.
//
// A NetError carries the class (Cause), the errno when the system reported
// one, a human-readable detail and the endpoint. message() joins them into
// the text users see: the words they would search for ("certificate",
// "host name", "expired", "TLS") are in it, secrets never are (nothing here
// ever sees a password or passphrase).
#pragma once

#include <string>

namespace cachet::net {

enum class Cause {
  none,
  resolve,          ///< the host name could not be resolved
  refused,          ///< nothing listens there (ECONNREFUSED, missing unix socket)
  connect_failed,   ///< any other failure to establish the TCP / unix connection
  connect_timeout,  ///< the TCP / unix connection was not established in time
  timeout,          ///< a read or write waited longer than allowed
  closed,           ///< the peer closed the connection (EOF)
  reset,            ///< the peer reset the connection (ECONNRESET, EPIPE)
  io,               ///< any other system error while reading or writing

  tls_untrusted,             ///< the server's certificate does not chain to a trusted CA
  tls_hostname,              ///< the certificate was not issued for the expected host name / IP
  tls_expired,               ///< the certificate has expired (or is not valid yet)
  tls_handshake_timeout,     ///< the TLS handshake did not finish in time
  tls_client_cert_required,  ///< the server requires a client certificate and none was sent
  tls_client_cert_rejected,  ///< the server did not accept the client certificate
  tls_plaintext_peer,        ///< TLS was spoken to a plaintext server (a redis:// port)
  tls_peer_speaks_tls,       ///< plaintext was spoken to a TLS server (a rediss:// port)
  tls_protocol,              ///< any other TLS failure (no common version or cipher, an alert, ...)
};

/// True for the causes that are failures to wait in time.
inline bool is_timeout(Cause c) noexcept {
  return c == Cause::timeout || c == Cause::connect_timeout || c == Cause::tls_handshake_timeout;
}
/// True for the TLS-specific causes.
inline bool is_tls(Cause c) noexcept { return c >= Cause::tls_untrusted; }

/// Stable lower-case name of a cause ("tls_hostname"), for tests and logs.
const char* to_string(Cause c) noexcept;

struct NetError {
  Cause cause = Cause::none;
  int sys_errno = 0;     ///< errno when the system reported the failure, else 0
  std::string detail;    ///< what happened, without the endpoint
  std::string endpoint;  ///< "127.0.0.1:6380", "[::1]:6380" or a unix socket path

  explicit operator bool() const noexcept { return cause != Cause::none; }
  /// "<detail> (<endpoint>)".
  std::string message() const;
};

/// A NetError of `cause` whose detail is `what`, followed by ": <strerror>"
/// when `err` != 0.
NetError make_error(Cause cause, std::string what, int err, const std::string& endpoint);

}  // namespace cachet::net
