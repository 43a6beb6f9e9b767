#include "support/tls_certs.hpp"

#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <random>
#include <stdexcept>

namespace cachet::test {

namespace {

// Runs a shell command; throws with its output when it fails.
void run(const std::string& command) {
  const std::string full = command + " 2>&1";
  FILE* p = ::popen(full.c_str(), "r");
  if (p == nullptr) throw std::runtime_error("tls_certs: cannot run: " + command);
  std::string output;
  std::array<char, 512> buf{};
  while (std::fgets(buf.data(), static_cast<int>(buf.size()), p) != nullptr) output += buf.data();
  const int status = ::pclose(p);
  if (status != 0) throw std::runtime_error("tls_certs: command failed: " + command + "\n" + output);
}

std::string random_password() {
  std::random_device rd;
  std::string s = "pp-";
  static const char kChars[] = "abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
  for (int i = 0; i < 20; ++i) s += kChars[rd() % (sizeof kChars - 1)];
  return s;
}

// The temporary directory and everything in it, removed at exit.
struct CertDir {
  TlsCerts certs;
  CertDir() {
    char tmpl[] = "/tmp/cachet-tls-XXXXXX";
    if (::mkdtemp(tmpl) == nullptr) throw std::runtime_error("tls_certs: mkdtemp failed");
    certs.dir = tmpl;
    make(certs);
  }
  ~CertDir() {
    const std::string cmd = "rm -rf '" + certs.dir + "'";
    if (std::system(cmd.c_str()) != 0) {
      // best effort
    }
  }

  static void make(TlsCerts& c) {
    const std::string& d = c.dir;
    const std::string newkey = "-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes";
    auto ca = [&](const std::string& name, const std::string& cn) {
      run("openssl req -x509 " + newkey + " -days 2 -subj '/CN=" + cn + "' -keyout " + d + "/" + name + ".key -out " +
          d + "/" + name + ".crt -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign");
    };
    // A certificate for `cn` with `san`, issued by the CA `issuer`, valid for `days`.
    auto leaf = [&](const std::string& name, const std::string& cn, const std::string& san, const std::string& issuer,
                    const std::string& usage, int days) {
      const std::string ext = d + "/" + name + ".ext";
      run("printf 'subjectAltName=" + san + "\\nextendedKeyUsage=" + usage + "\\n' > " + ext);
      run("openssl req " + newkey + " -subj '/CN=" + cn + "' -keyout " + d + "/" + name + ".key -out " + d + "/" +
          name + ".csr");
      run("openssl x509 -req -in " + d + "/" + name + ".csr -CA " + d + "/" + issuer + ".crt -CAkey " + d + "/" +
          issuer + ".key -CAcreateserial -days " + std::to_string(days) + " -extfile " + ext + " -out " + d + "/" +
          name + ".crt");
    };
    ca("ca", "cachet test CA");
    ca("other_ca", "cachet other CA");
    const std::string local = "DNS:localhost,IP:127.0.0.1,IP:::1";
    leaf("server", "localhost", local, "ca", "serverAuth", 2);
    leaf("expired", "localhost", local, "ca", "serverAuth", -1);  // notAfter a day before notBefore
    leaf("wrong_host", "wrong.example", "DNS:wrong.example", "ca", "serverAuth", 2);
    leaf("client", "cachet test client", "DNS:client.example", "ca", "clientAuth", 2);
    // Cluster nodes over TLS present their certificate on the bus as clients too.
    leaf("node", "localhost", local, "ca", "serverAuth,clientAuth", 2);
    leaf("foreign_client", "cachet foreign client", "DNS:client.example", "other_ca", "clientAuth", 2);
    c.client_key_password = random_password();
    run("openssl pkey -in " + d + "/client.key -aes256 -passout pass:" + c.client_key_password + " -out " + d +
        "/client_encrypted.key");

    c.ca_cert = d + "/ca.crt";
    c.ca_key = d + "/ca.key";
    c.other_ca_cert = d + "/other_ca.crt";
    c.server_cert = d + "/server.crt";
    c.server_key = d + "/server.key";
    c.expired_cert = d + "/expired.crt";
    c.expired_key = d + "/expired.key";
    c.wrong_host_cert = d + "/wrong_host.crt";
    c.wrong_host_key = d + "/wrong_host.key";
    c.node_cert = d + "/node.crt";
    c.node_key = d + "/node.key";
    c.client_cert = d + "/client.crt";
    c.client_key = d + "/client.key";
    c.client_key_encrypted = d + "/client_encrypted.key";
    c.foreign_client_cert = d + "/foreign_client.crt";
    c.foreign_client_key = d + "/foreign_client.key";
  }
};

}  // namespace

const TlsCerts& TlsCerts::shared() {
  static const CertDir dir;
  return dir.certs;
}

TlsOptions TlsCerts::trusting_ca() const {
  TlsOptions o;
  o.enabled = true;
  o.ca_certs = ca_cert;
  return o;
}

bool openssl_available() { return std::system("openssl version >/dev/null 2>&1") == 0; }

RedisServer::Options tls_server_options(const std::string& cert, const std::string& key, bool require_client_cert) {
  RedisServer::Options o;
  RedisServer::TlsFiles tls;
  tls.cert_file = cert;
  tls.key_file = key;
  tls.ca_cert_file = TlsCerts::shared().ca_cert;
  tls.auth_clients = require_client_cert;
  o.tls = tls;
  return o;
}

RedisServer& tls_server(TlsServerKind kind) {
  const TlsCerts& c = TlsCerts::shared();  // made first, so removed after the servers stop
  static std::map<TlsServerKind, std::unique_ptr<RedisServer>> servers;
  auto& slot = servers[kind];
  if (!slot) {
    switch (kind) {
      case TlsServerKind::basic:
        slot = std::make_unique<RedisServer>(tls_server_options(c.server_cert, c.server_key, false));
        break;
      case TlsServerKind::expired:
        slot = std::make_unique<RedisServer>(tls_server_options(c.expired_cert, c.expired_key, false));
        break;
      case TlsServerKind::wrong_host:
        slot = std::make_unique<RedisServer>(tls_server_options(c.wrong_host_cert, c.wrong_host_key, false));
        break;
      case TlsServerKind::mutual:
        slot = std::make_unique<RedisServer>(tls_server_options(c.server_cert, c.server_key, true));
        break;
    }
  }
  return *slot;
}

}  // namespace cachet::test
