// TlsContext: one SSL_CTX per cache, built from TlsOptions.
#include <openssl/err.h>
#include <openssl/evperr.h>
#include <openssl/pemerr.h>
#include <openssl/proverr.h>
#include <openssl/ssl.h>
#include <openssl/x509err.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include "cachet/errors.hpp"
#include "net/tls.hpp"

namespace cachet::net {

namespace {

// OpenSSL's error queue, oldest first; the queue is emptied.
std::vector<unsigned long> drain_errors() {
  std::vector<unsigned long> codes;
  while (const unsigned long code = ERR_get_error()) codes.push_back(code);
  return codes;
}

bool has_error(const std::vector<unsigned long>& codes, int lib, int reason) {
  return std::any_of(codes.begin(), codes.end(),
                     [&](unsigned long c) { return ERR_GET_LIB(c) == lib && ERR_GET_REASON(c) == reason; });
}

// The reason of the oldest error (the root cause: "no certificate or crl
// found"), and the queue cleared.
std::string openssl_reason() {
  const auto codes = drain_errors();
  const char* reason = codes.empty() ? nullptr : ERR_reason_error_string(codes.front());
  return reason != nullptr ? reason : "unknown OpenSSL error";
}

// Hands the passphrase to OpenSSL while a key is loaded. With no passphrase it
// answers "none" instead of OpenSSL's default, which would prompt on the terminal.
int passphrase(char* buf, int size, int, void* userdata) {
  const auto* secret = static_cast<const std::string*>(userdata);
  if (secret == nullptr || secret->empty() || size <= 0) return 0;
  const int n = static_cast<int>(std::min<std::size_t>(secret->size(), static_cast<std::size_t>(size)));
  std::memcpy(buf, secret->data(), static_cast<std::size_t>(n));
  return n;
}

[[noreturn]] void fail(const std::string& what) { throw ConfigError("TLS: " + what); }

// OpenSSL 3.0 decodes a certificate's extensions the first time a handshake
// uses it, writing under a lock that concurrent readers do not take (a data
// race ThreadSanitizer reports when a pool's connections verify the server in
// parallel). Decode them now, while the context is not shared yet.
void decode_extensions_now(SSL_CTX* ctx) {
  STACK_OF(X509_OBJECT)* objects = X509_STORE_get0_objects(SSL_CTX_get_cert_store(ctx));
  for (int i = 0; i < sk_X509_OBJECT_num(objects); ++i) {
    if (X509* cert = X509_OBJECT_get0_X509(sk_X509_OBJECT_value(objects, i))) X509_check_purpose(cert, -1, 0);
  }
  if (X509* own = SSL_CTX_get0_certificate(ctx)) X509_check_purpose(own, -1, 0);
}

// True when `path` holds a passphrase-protected PEM key (PKCS#8 or the
// traditional Proc-Type header).
bool pem_key_is_encrypted(const std::string& path) {
  std::ifstream in(path);
  for (std::string line; std::getline(in, line);) {
    if (line.find("BEGIN ENCRYPTED PRIVATE KEY") != std::string::npos || line == "Proc-Type: 4,ENCRYPTED" ||
        line == "Proc-Type: 4,ENCRYPTED\r") {
      return true;
    }
  }
  return false;
}

}  // namespace

TlsContext::TlsContext(const TlsOptions& options)
    : verify_peer_(options.cert_reqs != TlsOptions::CertReqs::none),
      check_hostname_(options.check_hostname),
      has_client_cert_(!options.certfile.empty()),
      server_name_(options.server_name) {
  options.validate();
  ctx_ = SSL_CTX_new(TLS_client_method());
  if (ctx_ == nullptr) fail("cannot create an OpenSSL context: " + openssl_reason());
  try {
    const int min = options.min_version == TlsOptions::Version::tls1_3 ? TLS1_3_VERSION : TLS1_2_VERSION;
    if (SSL_CTX_set_min_proto_version(ctx_, min) != 1) fail("cannot set the minimum version: " + openssl_reason());
    // Whole records per recv(): one syscall per reply on the command path.
    SSL_CTX_set_read_ahead(ctx_, 1);
    SSL_CTX_set_verify(ctx_, verify_peer_ ? SSL_VERIFY_PEER : SSL_VERIFY_NONE, nullptr);

    if (verify_peer_) {
      if (options.ca_certs.empty() && options.ca_path.empty()) {
        if (SSL_CTX_set_default_verify_paths(ctx_) != 1) {
          fail("cannot load the system's trusted certificates: " + openssl_reason());
        }
      } else if (SSL_CTX_load_verify_locations(ctx_, options.ca_certs.empty() ? nullptr : options.ca_certs.c_str(),
                                               options.ca_path.empty() ? nullptr : options.ca_path.c_str()) != 1) {
        fail("cannot load CA certificates from " +
             (options.ca_certs.empty() ? "ca_path (ssl_ca_path) '" + options.ca_path
                                       : "ca_certs (ssl_ca_certs) '" + options.ca_certs) +
             "': " + openssl_reason() + " (expected PEM certificates)");
      }
    }

    if (!options.certfile.empty()) {
      if (SSL_CTX_use_certificate_chain_file(ctx_, options.certfile.c_str()) != 1) {
        fail("cannot load the client certificate from certfile (ssl_certfile) '" + options.certfile +
             "': " + openssl_reason() + " (expected a PEM certificate)");
      }
      const std::string& keyfile = options.keyfile.empty() ? options.certfile : options.keyfile;
      SSL_CTX_set_default_passwd_cb(ctx_, &passphrase);
      SSL_CTX_set_default_passwd_cb_userdata(ctx_, const_cast<std::string*>(&options.key_password));
      const int loaded = SSL_CTX_use_PrivateKey_file(ctx_, keyfile.c_str(), SSL_FILETYPE_PEM);
      SSL_CTX_set_default_passwd_cb_userdata(ctx_, nullptr);  // the passphrase is not kept
      const auto errors = drain_errors();
      const char* field = options.keyfile.empty() ? "certfile (ssl_certfile)" : "keyfile (ssl_keyfile)";
      if (has_error(errors, ERR_LIB_X509, X509_R_KEY_VALUES_MISMATCH) ||
          (loaded == 1 && SSL_CTX_check_private_key(ctx_) != 1)) {
        ERR_clear_error();
        fail("the private key in '" + keyfile + "' does not match the certificate in certfile (ssl_certfile) '" +
             options.certfile + "'");
      }
      if (loaded != 1) {
        // A wrong passphrase usually fails the cipher's padding check; about
        // once in a hundred it passes, and the garbage it decrypted then fails
        // to decode: for an encrypted key file both mean "cannot decrypt".
        if (has_error(errors, ERR_LIB_PROV, PROV_R_BAD_DECRYPT) || has_error(errors, ERR_LIB_EVP, EVP_R_BAD_DECRYPT) ||
            has_error(errors, ERR_LIB_PEM, PEM_R_BAD_DECRYPT) || has_error(errors, ERR_LIB_PEM, PEM_R_BAD_PASSWORD_READ) ||
            pem_key_is_encrypted(keyfile)) {
          fail(std::string("cannot decrypt the private key in ") + field + " '" + keyfile +
               "': wrong or missing key_password (ssl_password)");
        }
        const char* reason = errors.empty() ? nullptr : ERR_reason_error_string(errors.front());
        fail(std::string("cannot load the private key from ") + field + " '" + keyfile +
             "': " + (reason != nullptr ? reason : "unknown OpenSSL error") + " (expected a PEM private key)");
      }
    }
  } catch (...) {
    SSL_CTX_free(ctx_);
    throw;
  }
  decode_extensions_now(ctx_);
  TlsSession::prepare_context(ctx_);
}

TlsContext::~TlsContext() { SSL_CTX_free(ctx_); }

}  // namespace cachet::net
