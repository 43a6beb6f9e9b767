#include "net/tls_diagnose.hpp"

#include <arpa/inet.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <cerrno>
#include <ctime>
#include <memory>

namespace cachet::net {

namespace {

struct BioFree {
  void operator()(BIO* b) const noexcept { BIO_free(b); }
};

std::string name_text(const X509_NAME* name) {
  if (name == nullptr) return {};
  std::unique_ptr<BIO, BioFree> bio(BIO_new(BIO_s_mem()));
  if (!bio || X509_NAME_print_ex(bio.get(), name, 0, XN_FLAG_RFC2253) < 0) return {};
  char* data = nullptr;
  const long len = BIO_get_mem_data(bio.get(), &data);
  return len > 0 ? std::string(data, static_cast<std::size_t>(len)) : std::string();
}

bool to_time(const ASN1_TIME* t, std::time_t& out) {
  std::tm tm{};
  if (t == nullptr || ASN1_TIME_to_tm(t, &tm) != 1) return false;
  out = ::timegm(&tm);
  return true;
}

std::string time_text(const ASN1_TIME* t) {
  std::time_t when;
  if (!to_time(t, when)) return "?";
  std::tm tm{};
  ::gmtime_r(&when, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S UTC", &tm);
  return buf;
}

// The names a certificate is valid for: its subjectAltName entries, else its CN.
std::string names_of(X509* cert) {
  std::string out;
  auto* names = static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr));
  for (int i = 0; names != nullptr && i < sk_GENERAL_NAME_num(names); ++i) {
    const GENERAL_NAME* gn = sk_GENERAL_NAME_value(names, i);
    std::string one;
    if (gn->type == GEN_DNS) {
      const ASN1_STRING* s = gn->d.dNSName;
      one = "DNS:" + std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                                 static_cast<std::size_t>(ASN1_STRING_length(s)));
    } else if (gn->type == GEN_IPADD) {
      const ASN1_OCTET_STRING* ip = gn->d.iPAddress;
      char text[INET6_ADDRSTRLEN] = "?";
      const int family = ASN1_STRING_length(ip) == 16 ? AF_INET6 : AF_INET;
      ::inet_ntop(family, ASN1_STRING_get0_data(ip), text, sizeof text);
      one = std::string("IP:") + text;
    }
    if (one.empty()) continue;
    if (!out.empty()) out += ", ";
    out += one;
  }
  GENERAL_NAMES_free(names);
  if (out.empty()) {
    const X509_NAME* subject = X509_get_subject_name(cert);
    const int idx = X509_NAME_get_index_by_NID(subject, NID_commonName, -1);
    if (idx >= 0) {
      const ASN1_STRING* cn = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, idx));
      out = "CN=" + std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(cn)),
                                static_cast<std::size_t>(ASN1_STRING_length(cn)));
    } else {
      out = "no name";
    }
  }
  return out;
}

std::string certificate_words(const TlsFacts& f) {
  std::string s = "subject " + (f.cert_subject.empty() ? std::string("(none)") : f.cert_subject) + ", issuer " +
                  (f.cert_issuer.empty() ? std::string("(none)") : f.cert_issuer);
  if (!f.failed_subject.empty()) s += ", failed at " + f.failed_subject;
  return s;
}

NetError tls_error(Cause cause, std::string what, const std::string& endpoint) {
  return make_error(cause, std::move(what), 0, endpoint);
}

NetError verify_error(const TlsFacts& f, const std::string& endpoint) {
  switch (f.verify_error) {
    case X509_V_ERR_HOSTNAME_MISMATCH:
    case X509_V_ERR_IP_ADDRESS_MISMATCH:
      return tls_error(Cause::tls_hostname,
                       "TLS: server certificate host name mismatch: expected '" + f.expected_name +
                           "', the certificate is for " + f.cert_names +
                           " (set ssl_server_name to the name it was issued for)",
                       endpoint);
    case X509_V_ERR_CERT_HAS_EXPIRED:
      return tls_error(Cause::tls_expired,
                       "TLS: server certificate expired (" + f.cert_validity + "; " + certificate_words(f) + ")",
                       endpoint);
    case X509_V_ERR_CERT_NOT_YET_VALID:
      return tls_error(Cause::tls_expired,
                       "TLS: server certificate not valid yet (" + f.cert_validity + "; " + certificate_words(f) +
                           "); is the clock right?",
                       endpoint);
    default:
      return tls_error(Cause::tls_untrusted,
                       std::string("TLS: server certificate not trusted: ") +
                           X509_verify_cert_error_string(f.verify_error) + " (" + certificate_words(f) +
                           "; set ssl_ca_certs to the CA that issued it)",
                       endpoint);
  }
}

bool is_alert_about_our_certificate(int reason) {
  switch (reason) {
    case SSL_R_TLSV1_ALERT_UNKNOWN_CA:
    case SSL_R_SSLV3_ALERT_BAD_CERTIFICATE:
    case SSL_R_SSLV3_ALERT_CERTIFICATE_UNKNOWN:
    case SSL_R_SSLV3_ALERT_UNSUPPORTED_CERTIFICATE:
    case SSL_R_SSLV3_ALERT_CERTIFICATE_EXPIRED:
    case SSL_R_SSLV3_ALERT_CERTIFICATE_REVOKED:
    case SSL_R_TLSV1_ALERT_ACCESS_DENIED:
    case SSL_R_TLSV1_ALERT_DECRYPT_ERROR: return true;
    default: return false;
  }
}

bool means_not_tls(int reason) {
  return reason == SSL_R_WRONG_VERSION_NUMBER || reason == SSL_R_PACKET_LENGTH_TOO_LONG ||
         reason == SSL_R_HTTP_REQUEST;
}

}  // namespace

bool looks_like_resp(const unsigned char* bytes, std::size_t n) noexcept {
  if (n == 0) return false;
  switch (bytes[0]) {
    case '+':
    case '-':
    case ':':
    case '$':
    case '*': return true;
    default: return false;
  }
}

bool looks_like_tls(const unsigned char* bytes, std::size_t n) noexcept {
  // A record: content type (alert 21, handshake 22), then version major 3.
  return n >= 2 && (bytes[0] == 21 || bytes[0] == 22) && bytes[1] == 3;
}

void record_verify_failure(x509_store_ctx_st* store, TlsFacts& facts) {
  facts.verify_error = X509_STORE_CTX_get_error(store);
  X509* failed = X509_STORE_CTX_get_current_cert(store);
  X509* own = X509_STORE_CTX_get0_cert(store);
  if (own == nullptr) own = failed;
  if (own != nullptr) {
    facts.cert_subject = name_text(X509_get_subject_name(own));
    facts.cert_issuer = name_text(X509_get_issuer_name(own));
    facts.cert_names = names_of(own);
  }
  if (failed != nullptr) {
    facts.cert_validity =
        "valid from " + time_text(X509_get0_notBefore(failed)) + " until " + time_text(X509_get0_notAfter(failed));
    if (failed != own) facts.failed_subject = name_text(X509_get_subject_name(failed));
  }
}

NetError classify(int ssl_error, bool handshaking, const TlsFacts& f, const std::string& endpoint) {
  const unsigned long code = ERR_peek_last_error();
  const int reason = ERR_GET_REASON(code);
  const char* reason_text = code != 0 ? ERR_reason_error_string(code) : nullptr;
  ERR_clear_error();

  const bool plaintext_bytes = f.received > 0 && !looks_like_tls(f.first_bytes, std::min(f.received, sizeof f.first_bytes));
  if (handshaking && (f.plaintext_reply || plaintext_bytes || means_not_tls(reason))) {
    std::string what = "TLS handshake failed: the server answered in plaintext, not TLS";
    if (f.plaintext_reply || looks_like_resp(f.first_bytes, std::min(f.received, sizeof f.first_bytes))) {
      what += " (a Redis server without TLS on this port? use redis:// or the server's tls-port)";
    }
    return tls_error(Cause::tls_plaintext_peer, std::move(what), endpoint);
  }
  if (f.verify_error != 0) return verify_error(f, endpoint);
  if (reason == SSL_R_TLSV13_ALERT_CERTIFICATE_REQUIRED ||
      (f.cert_requested && !f.sent_client_cert && ssl_error == SSL_ERROR_SSL)) {
    return tls_error(Cause::tls_client_cert_required,
                     "TLS: the server requires a client certificate (set ssl_certfile and ssl_keyfile)", endpoint);
  }
  if (f.sent_client_cert && is_alert_about_our_certificate(reason)) {
    return tls_error(Cause::tls_client_cert_rejected,
                     std::string("TLS: the server rejected the client certificate: ") +
                         (reason_text ? reason_text : "alert"),
                     endpoint);
  }
  // A server that asked for a client certificate and then hangs up most
  // likely refused it (its alert can be lost when it resets the connection).
  const std::string hint = f.cert_requested ? " (the server asked for a client certificate: did it reject it?)" : "";
  if (ssl_error == SSL_ERROR_ZERO_RETURN || f.peer_eof || reason == SSL_R_UNEXPECTED_EOF_WHILE_READING) {
    return tls_error(Cause::closed,
                     (handshaking ? "TLS handshake failed: the server closed the connection"
                                  : "connection closed by the server") + hint,
                     endpoint);
  }
  if (ssl_error == SSL_ERROR_SYSCALL) {
    const int err = f.last_errno;
    if (err == ECONNRESET || err == EPIPE) {
      return tls_error(Cause::reset,
                       (handshaking ? "TLS handshake failed: connection reset by the server"
                                    : "connection reset by the server") + hint,
                       endpoint);
    }
    return make_error(Cause::io, handshaking ? "TLS handshake failed: I/O error" : "I/O error", err, endpoint);
  }
  std::string what = handshaking ? "TLS handshake failed: " : "TLS error: ";
  what += reason_text != nullptr ? reason_text : "unknown OpenSSL error";
  return tls_error(Cause::tls_protocol, std::move(what), endpoint);
}

TlsInfo session_info(ssl_st* ssl) {
  TlsInfo info;
  info.version = SSL_get_version(ssl);
  if (const SSL_CIPHER* c = SSL_get_current_cipher(ssl)) info.cipher = SSL_CIPHER_get_name(c);
  X509* cert = SSL_get1_peer_certificate(ssl);
  if (cert != nullptr) {
    info.peer_subject = name_text(X509_get_subject_name(cert));
    info.peer_issuer = name_text(X509_get_issuer_name(cert));
    std::time_t until;
    if (to_time(X509_get0_notAfter(cert), until)) info.peer_not_after = std::chrono::system_clock::from_time_t(until);
    X509_free(cert);
  }
  return info;
}

}  // namespace cachet::net
