// Internal: turning an OpenSSL failure into a NetError a user can act on.
//
// The TLS session collects facts while it runs (TlsFacts): what the
// certificate verification rejected and why (recorded by the verify callback,
// because OpenSSL does not keep a rejected certificate), whether the server
// asked for a client certificate, and the first bytes the peer sent. After a
// failure, classify() reads those facts and OpenSSL's error queue once and
// picks the Cause; the message names the certificate's subject and issuer,
// the expected and presented host names, or the expiry date.
#pragma once

#include <chrono>
#include <cstddef>
#include <string>

#include "cachet/tls_options.hpp"
#include "net/error.hpp"

struct x509_store_ctx_st;
struct ssl_st;

namespace cachet::net {

/// What a finished handshake negotiated, for probes and `cachet probe`.
using TlsInfo = cachet::TlsSessionInfo;

struct TlsFacts {
  // Set by the verify callback when it rejects a certificate: the server's
  // own certificate (cert_*), and the one in its chain that failed.
  int verify_error = 0;       ///< X509_V_ERR_*; 0 = verification passed (or was off)
  std::string cert_subject;   ///< RFC 2253
  std::string cert_issuer;
  std::string cert_names;     ///< "DNS:localhost, IP:127.0.0.1" (subjectAltName), else "CN=..."
  std::string cert_validity;  ///< of the failing certificate: "valid from ... until ..." (UTC)
  std::string failed_subject;  ///< the failing certificate when it is not the server's own (a CA)
  bool cert_requested = false;  ///< the server sent a CertificateRequest
  bool ticket_received = false;  ///< a TLS 1.3 session ticket arrived (the server accepted us)
  bool sent_client_cert = false;
  std::string expected_name;  ///< host name / IP the certificate must name ("" = not checked)

  // Kept by the session's BIO.
  unsigned char first_bytes[8] = {};  ///< the first bytes received during the handshake
  std::size_t received = 0;           ///< bytes received during the handshake
  bool peer_eof = false;              ///< recv() returned 0
  int last_errno = 0;                 ///< errno of the last failed recv() / send()
  bool plaintext_reply = false;       ///< a plaintext probe got a Redis reply
};

/// The verify callback's work: records the rejected certificate in `facts`.
void record_verify_failure(x509_store_ctx_st* store, TlsFacts& facts);

/// Classifies a failed SSL call (`ssl_error` = SSL_get_error()) using the
/// error queue and `facts`; clears the queue.
NetError classify(int ssl_error, bool handshaking, const TlsFacts& facts, const std::string& endpoint);

/// The negotiated version and cipher and the server certificate's names and expiry.
TlsInfo session_info(ssl_st* ssl);

/// True when `bytes` start like a Redis (RESP) reply: '+', '-', ':', '$', '*'.
bool looks_like_resp(const unsigned char* bytes, std::size_t n) noexcept;
/// True when `bytes` start like a TLS record (handshake or alert, version 3.x).
bool looks_like_tls(const unsigned char* bytes, std::size_t n) noexcept;

}  // namespace cachet::net
