#include "net/error.hpp"

#include <cstring>

namespace cachet::net {

const char* to_string(Cause c) noexcept {
  switch (c) {
    case Cause::none: return "none";
    case Cause::resolve: return "resolve";
    case Cause::refused: return "refused";
    case Cause::connect_failed: return "connect_failed";
    case Cause::connect_timeout: return "connect_timeout";
    case Cause::timeout: return "timeout";
    case Cause::closed: return "closed";
    case Cause::reset: return "reset";
    case Cause::io: return "io";
    case Cause::tls_untrusted: return "tls_untrusted";
    case Cause::tls_hostname: return "tls_hostname";
    case Cause::tls_expired: return "tls_expired";
    case Cause::tls_handshake_timeout: return "tls_handshake_timeout";
    case Cause::tls_client_cert_required: return "tls_client_cert_required";
    case Cause::tls_client_cert_rejected: return "tls_client_cert_rejected";
    case Cause::tls_plaintext_peer: return "tls_plaintext_peer";
    case Cause::tls_peer_speaks_tls: return "tls_peer_speaks_tls";
    case Cause::tls_protocol: return "tls_protocol";
  }
  return "unknown";
}

std::string NetError::message() const {
  if (endpoint.empty()) return detail;
  return detail + " (" + endpoint + ")";
}

NetError make_error(Cause cause, std::string what, int err, const std::string& endpoint) {
  NetError e;
  e.cause = cause;
  e.sys_errno = err;
  e.detail = std::move(what);
  if (err != 0) {
    char buf[128];
    // GNU strerror_r: returns the message, which may or may not be in buf.
    e.detail += ": ";
    e.detail += ::strerror_r(err, buf, sizeof buf);
  }
  e.endpoint = endpoint;
  return e;
}

}  // namespace cachet::net
