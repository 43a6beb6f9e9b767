// Internal: the TLS layer of the transport, on OpenSSL.
//
// TlsContext is built once per cache from TlsOptions: trust (CA file / CA
// directory / the system's default paths), the client certificate and key
// (the passphrase is used while loading and not kept), the lowest protocol
// version and the verification mode. It is immutable afterwards and shared
// by every connection of the cache, from any thread.
//
// TlsSession is one SSL connection over a Socket. It reads and writes through
// a small BIO of its own that calls the Socket, so it follows the same two
// wait disciplines as plain TCP (wait.hpp): a Wait::per_wait() SSL_read is one
// recv() (read-ahead is on, so a whole record arrives at once), a
// Wait::until() operation handles WANT_READ / WANT_WRITE with poll() until
// the deadline. Failures are classified where OpenSSL reports them
// (tls_diagnose.hpp): untrusted certificate, host name mismatch, expired,
// client certificate required or rejected, plaintext peer, timeout.
//
// This header includes no OpenSSL header.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>

#include "cachet/tls_options.hpp"
#include "net/error.hpp"
#include "net/socket.hpp"
#include "net/tls_diagnose.hpp"
#include "net/wait.hpp"

struct ssl_ctx_st;
struct ssl_st;

namespace cachet::net {

class TlsContext {
 public:
  /// Validates `options` and loads every file they name. Throws ConfigError
  /// naming the field and the file (never the passphrase) when a file cannot
  /// be read or used: no certificate in the CA file, a key that does not
  /// decrypt (wrong key_password) or does not match the certificate.
  explicit TlsContext(const TlsOptions& options);
  ~TlsContext();
  TlsContext(const TlsContext&) = delete;
  TlsContext& operator=(const TlsContext&) = delete;

  ssl_ctx_st* native() const noexcept { return ctx_; }
  bool verify_peer() const noexcept { return verify_peer_; }
  bool check_hostname() const noexcept { return check_hostname_; }
  bool has_client_certificate() const noexcept { return has_client_cert_; }
  /// The name checked and sent as SNI instead of the host; empty = the host.
  const std::string& server_name() const noexcept { return server_name_; }

 private:
  ssl_ctx_st* ctx_ = nullptr;
  bool verify_peer_ = true;
  bool check_hostname_ = true;
  bool has_client_cert_ = false;
  std::string server_name_;
};

class TlsSession {
 public:
  /// Runs the TLS handshake on `socket` (which must outlive the session) for
  /// `host`, within `wait` (a deadline). Null and `error` on failure. When no
  /// byte came back by half the time, a plaintext probe on a second
  /// connection tells "plaintext server on a TLS port" from a hung server.
  static std::unique_ptr<TlsSession> handshake(Socket& socket, const TlsContext& context, const std::string& host,
                                               const Wait& wait, NetError& error);
  ~TlsSession();
  TlsSession(const TlsSession&) = delete;
  TlsSession& operator=(const TlsSession&) = delete;

  /// Like Socket::read_some / write_all, through TLS.
  std::size_t read_some(char* buf, std::size_t cap, const Wait& wait, NetError& error);
  bool write_all(const char* data, std::size_t len, const Wait& wait, NetError& error);

  /// True when decrypted or undecrypted bytes are buffered in OpenSSL, which
  /// poll() on the socket cannot see: read before waiting.
  bool has_buffered() const noexcept;
  /// Without blocking: processes what arrived (session tickets, alerts) and
  /// is true when the connection is open and no application data is waiting.
  bool idle_and_open() noexcept;

  TlsInfo info() const;

 private:
  struct Io;  // the BIO and the verify callbacks: OpenSSL's view of this session
  friend struct Io;
  friend class TlsContext;
  /// Installs the context-wide callback that notes a server's certificate request.
  static void prepare_context(ssl_ctx_st* ctx);
  TlsSession(Socket& socket, ssl_st* ssl) noexcept : socket_(socket), ssl_(ssl) {}

  /// Calls `op` (SSL_connect / SSL_read_ex / SSL_write_ex) until it succeeds,
  /// fails, or the wait runs out. 1 done, 0 failed (`error` set).
  template <class Op>
  int drive(Op&& op, const Wait& wait, bool handshaking, NetError& error);
  bool probe_plaintext(const Wait& wait);
  /// TLS 1.3 ends the client's handshake before the server has checked the
  /// client certificate it asked for; the verdict follows: session tickets
  /// (accepted) or an alert (refused). Waits for it, at most as long as the
  /// handshake took (10 ms at least), so that a refusal is reported by the
  /// handshake, and before a request is written (a server that closes with
  /// unread bytes resets the connection, and the alert can be lost).
  bool await_verdict(const Wait& wait, Clock::duration handshake_time, NetError& error);

  Socket& socket_;
  ssl_st* ssl_;
  bool dont_wait_ = false;  // the BIO passes MSG_DONTWAIT (Wait::until)
  bool recording_ = false;  // the BIO keeps the first bytes (handshake only)
  TlsFacts facts_;
};

}  // namespace cachet::net
