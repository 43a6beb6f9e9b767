// cachet/tls_options.hpp — TLS settings of a Redis connection (rediss://).
//
// TlsOptions is a plain struct: every field has a safe default, and TLS is off
// until `enabled` is set. When enabled, cachet encrypts every connection with
// OpenSSL (linked privately; this header includes nothing of it), verifies the
// server's certificate against `ca_certs` / `ca_path` or the system's trust
// store (/etc/ssl/certs on Debian), and checks that the certificate was issued
// for the host name (or IP address) it connects to. The field names follow
// redis-py's `ssl_*` URL keys without the prefix.
//
// Files are read when a cache is constructed: an unreadable CA, certificate or
// key file throws ConfigError naming the file (never the key's passphrase).
// TLS over a unix socket is refused with ConfigError.
//
// Thread safety: a value type; copies are independent.
#pragma once

#include <chrono>
#include <string>

#include "cachet/export.hpp"

namespace cachet {

struct CACHET_EXPORT TlsOptions {
  /// How strictly the server's certificate is checked (redis-py's ssl_cert_reqs).
  enum class CertReqs {
    /// Default: the server must present a certificate that chains to a trusted CA.
    required,
    /// Verify a certificate when the server sends one. Redis servers always
    /// do, so this behaves as `required` (as in Python's ssl module).
    optional,
    /// No verification at all: encrypted, but anyone in the path can pose as
    /// the server. Each cache logs one warning saying so.
    none,
  };

  /// Lowest protocol version accepted (redis-py's ssl_min_version).
  enum class Version {
    tls1_2,  ///< default: TLS 1.2 or 1.3
    tls1_3,  ///< TLS 1.3 only
  };

  /// Encrypt connections. Default false (plain TCP); rediss:// sets it.
  bool enabled = false;
  /// Default CertReqs::required.
  CertReqs cert_reqs = CertReqs::required;
  /// PEM file of CA certificates to trust (ssl_ca_certs). Default empty: the
  /// system's trust store, unless ca_path is set.
  std::string ca_certs;
  /// Directory of hashed CA certificates, as made by `openssl rehash`
  /// (ssl_ca_path). Default empty.
  std::string ca_path;
  /// PEM file of the client certificate for mutual TLS (ssl_certfile); it may
  /// also hold the private key. Default empty: no client certificate.
  std::string certfile;
  /// PEM file of the client certificate's private key (ssl_keyfile). Default
  /// empty: the key is read from certfile. Requires certfile.
  std::string keyfile;
  /// Passphrase of an encrypted private key (ssl_password). A secret: never
  /// logged, never in a message, printed as "***". Default empty.
  std::string key_password;
  /// Check that the certificate names the host connected to (or server_name)
  /// (ssl_check_hostname). Default true. The chain is still verified when false.
  bool check_hostname = true;
  /// Name sent as SNI and checked against the certificate instead of the host
  /// (ssl_server_name); for connecting by IP address to a server whose
  /// certificate names a DNS name. May be an IP address. Default empty.
  std::string server_name;
  /// Default Version::tls1_2.
  Version min_version = Version::tls1_2;

  /// Throws ConfigError naming the first invalid field and what is accepted:
  /// keyfile without certfile, a file or directory that cannot be read (named
  /// with the reason), key_password without a certificate, characters that
  /// cannot be in a host name in server_name. Does nothing when !enabled.
  void validate() const;

  /// The enabled fields on one line ("tls{cert_reqs=required ca_certs=/x.pem
  /// ...}"), key_password as "***"; "tls{off}" when not enabled.
  std::string to_string() const;
};

/// What a TLS connection negotiated (RedisCache::tls_session()).
struct TlsSessionInfo {
  std::string version;       ///< "TLSv1.3"
  std::string cipher;        ///< "TLS_AES_256_GCM_SHA384"
  std::string peer_subject;  ///< the server certificate's subject, RFC 2253 ("CN=redis.internal")
  std::string peer_issuer;   ///< its issuer ("CN=My CA")
  /// End of the server certificate's validity (epoch when it sent none).
  std::chrono::system_clock::time_point peer_not_after{};
};

/// "required", "optional", "none".
CACHET_EXPORT const char* to_string(TlsOptions::CertReqs reqs) noexcept;
/// "1.2", "1.3".
CACHET_EXPORT const char* to_string(TlsOptions::Version version) noexcept;

}  // namespace cachet
