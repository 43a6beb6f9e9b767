// Internal: telling which protocol a peer speaks, on a second connection.
//
// When TLS meets a plaintext Redis port, the server waits for a line it never
// gets (a ClientHello holds NUL bytes, so it is never an inline command);
// when plaintext meets a TLS port, the server resets the connection. Neither
// failure names its cause, so the transport asks again in the other protocol
// on a fresh connection to the same address, within what is left of the
// caller's wait. Only failure paths run a probe.
#pragma once

#include "net/socket.hpp"
#include "net/wait.hpp"

namespace cachet::net {

/// Sends an inline PING over a new plaintext connection to `socket`'s peer:
/// true when a Redis reply ('+PONG', '-NOAUTH ...') comes back within `wait`.
bool answers_plaintext_resp(const Socket& socket, const Wait& wait);

/// Starts a TLS handshake (nothing verified) over a new connection to
/// `socket`'s peer: true when the peer answers in TLS within `wait`.
bool answers_tls(const Socket& socket, const Wait& wait);

}  // namespace cachet::net
