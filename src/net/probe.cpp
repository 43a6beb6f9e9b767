#include "net/probe.hpp"

#include <memory>

#include "net/tls.hpp"

namespace cachet::net {

namespace {

Socket reconnect(const Socket& socket, const Wait& wait) {
  NetError ignored;
  return Socket::connect_address(reinterpret_cast<const sockaddr*>(&socket.peer_address()),
                                 socket.peer_address_len(), socket.name(), wait, ignored);
}

}  // namespace

bool answers_plaintext_resp(const Socket& socket, const Wait& wait) {
  if (!wait.has_deadline()) return false;
  Socket probe = reconnect(socket, wait);
  NetError ignored;
  static constexpr char kPing[] = "PING\r\n";
  if (!probe.valid() || !probe.write_all(kPing, sizeof kPing - 1, wait, ignored)) return false;
  char reply[8];
  const std::size_t n = probe.read_some(reply, sizeof reply, wait, ignored);
  return looks_like_resp(reinterpret_cast<const unsigned char*>(reply), n);
}

bool answers_tls(const Socket& socket, const Wait& wait) {
  if (!wait.has_deadline()) return false;
  Socket probe = reconnect(socket, wait);
  if (!probe.valid()) return false;
  static const std::shared_ptr<const TlsContext> context = [] {
    TlsOptions o;
    o.enabled = true;
    o.cert_reqs = TlsOptions::CertReqs::none;  // only the protocol matters here
    return std::make_shared<const TlsContext>(o);
  }();
  NetError error;
  if (TlsSession::handshake(probe, *context, "localhost", wait, error)) return true;
  // A TLS alert (certificate required, no common version, ...) is an answer in TLS too.
  return is_tls(error.cause) && error.cause != Cause::tls_plaintext_peer &&
         error.cause != Cause::tls_handshake_timeout;
}

}  // namespace cachet::net
