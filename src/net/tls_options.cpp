// TlsOptions (include/cachet/tls_options.hpp): validation and printing.
#include "cachet/tls_options.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "cachet/errors.hpp"

namespace cachet {

namespace {

// Throws unless `path` names a readable regular file (or directory, for ca_path).
void require_readable(const char* field, const std::string& path, bool directory) {
  struct stat st {};
  const char* problem = nullptr;
  int err = 0;
  if (::stat(path.c_str(), &st) != 0) {
    err = errno;
  } else if (directory ? !S_ISDIR(st.st_mode) : S_ISDIR(st.st_mode)) {
    problem = directory ? "not a directory" : "a directory, not a file";
  } else if (::access(path.c_str(), directory ? (R_OK | X_OK) : R_OK) != 0) {
    err = errno;
  }
  if (err == 0 && problem == nullptr) return;
  throw ConfigError(std::string("TLS option ") + field + ": cannot read '" + path +
                    "': " + (problem != nullptr ? problem : std::strerror(err)));
}

bool bad_name_char(char c) {
  const auto u = static_cast<unsigned char>(c);
  return u <= 0x20 || u == 0x7f || c == '/' || c == '@' || c == '?' || c == '#';
}

}  // namespace

const char* to_string(TlsOptions::CertReqs reqs) noexcept {
  switch (reqs) {
    case TlsOptions::CertReqs::required: return "required";
    case TlsOptions::CertReqs::optional: return "optional";
    case TlsOptions::CertReqs::none: return "none";
  }
  return "?";
}

const char* to_string(TlsOptions::Version version) noexcept {
  switch (version) {
    case TlsOptions::Version::tls1_2: return "1.2";
    case TlsOptions::Version::tls1_3: return "1.3";
  }
  return "?";
}

void TlsOptions::validate() const {
  if (!enabled) return;
  if (!keyfile.empty() && certfile.empty()) {
    throw ConfigError("TLS option keyfile (ssl_keyfile) is set without certfile (ssl_certfile): a client key needs "
                      "its certificate");
  }
  if (!key_password.empty() && certfile.empty()) {
    throw ConfigError("TLS option key_password (ssl_password) is set without certfile (ssl_certfile): there is no "
                      "client key to decrypt");
  }
  for (char c : server_name) {
    if (bad_name_char(c)) {
      throw ConfigError("TLS option server_name (ssl_server_name) '" + server_name +
                        "': not a host name or IP address (letters, digits, '-', '.', ':' accepted)");
    }
  }
  if (!ca_certs.empty()) require_readable("ca_certs (ssl_ca_certs)", ca_certs, false);
  if (!ca_path.empty()) require_readable("ca_path (ssl_ca_path)", ca_path, true);
  if (!certfile.empty()) require_readable("certfile (ssl_certfile)", certfile, false);
  if (!keyfile.empty()) require_readable("keyfile (ssl_keyfile)", keyfile, false);
}

std::string TlsOptions::to_string() const {
  if (!enabled) return "tls{off}";
  std::string s = "tls{cert_reqs=";
  s += cachet::to_string(cert_reqs);
  auto field = [&s](const char* name, const std::string& value) {
    if (value.empty()) return;
    s += ' ';
    s += name;
    s += '=';
    s += value;
  };
  field("ca_certs", ca_certs);
  field("ca_path", ca_path);
  field("certfile", certfile);
  field("keyfile", keyfile);
  if (!key_password.empty()) s += " key_password=***";
  s += check_hostname ? " check_hostname=true" : " check_hostname=false";
  field("server_name", server_name);
  s += " min_version=";
  s += cachet::to_string(min_version);
  s += '}';
  return s;
}

}  // namespace cachet
