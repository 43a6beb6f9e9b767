// Test harness: throw-away certificates for TLS tests, and TLS redis-servers.
//
// TlsCerts::shared() makes, once per test binary and with the `openssl`
// command, a CA and every certificate the TLS tests need, in a temporary
// directory removed at exit; nothing secret is committed. Keys are P-256
// (fast to make). The passphrase of the encrypted client key is random.
//
//   const auto& certs = cachet::test::TlsCerts::shared();
//   cachet::test::RedisServer& server = cachet::test::tls_server(TlsServerKind::basic);
//   cachet::RedisOptions o; o.port = server.port(); o.tls = certs.client_options();
#pragma once

#include <string>

#include "cachet/tls_options.hpp"
#include "support/redis_server.hpp"

namespace cachet::test {

struct TlsCerts {
  std::string dir;
  std::string ca_cert, ca_key;              ///< the CA every server and client certificate below chains to
  std::string other_ca_cert;                ///< an unrelated CA (for "wrong CA" tests)
  std::string server_cert, server_key;      ///< for localhost, 127.0.0.1 and ::1
  std::string expired_cert, expired_key;    ///< like server_cert, but expired yesterday
  std::string wrong_host_cert, wrong_host_key;  ///< for wrong.example only
  std::string node_cert, node_key;          ///< as server_cert, for client use too (a TLS cluster's bus)
  std::string client_cert, client_key;      ///< a client certificate issued by the CA
  std::string client_key_encrypted;         ///< client_key, encrypted with client_key_password
  std::string client_key_password;          ///< random, made at test time
  std::string foreign_client_cert, foreign_client_key;  ///< a client certificate issued by other_ca

  /// Made on first use (throws std::runtime_error with openssl's output when it fails).
  static const TlsCerts& shared();

  /// TLS on, trusting the CA; no client certificate.
  TlsOptions trusting_ca() const;
};

/// True when the `openssl` command is installed (tests fail without it).
bool openssl_available();

/// The TLS servers of the tests; each is started on first use, shared by the
/// test binary and killed at exit. All listen on a TLS port only (plain port
/// 0) and on a unix socket that the harness uses for its own commands.
enum class TlsServerKind {
  basic,       ///< server_cert; client certificates not requested
  expired,     ///< expired_cert
  wrong_host,  ///< wrong_host_cert
  mutual,      ///< server_cert; a client certificate issued by the CA is required
};
RedisServer& tls_server(TlsServerKind kind);

/// RedisServer::Options for a TLS server with `cert`/`key`, trusting the
/// test CA for client certificates; `require_client_cert` = --tls-auth-clients yes.
RedisServer::Options tls_server_options(const std::string& cert, const std::string& key, bool require_client_cert);

}  // namespace cachet::test
