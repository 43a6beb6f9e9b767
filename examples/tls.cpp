// tls — RedisCache over TLS, verifying the server against your CA.
//
//   ./examples/run tls <host> <port> <ca.pem> [<client-cert.pem> <client-key.pem>]
//
// Connects to a Redis TLS port (redis-server --tls-port ...), trusting only the
// CA in <ca.pem>, with a client certificate when the server requires one
// (tls-auth-clients yes). Stores and reads one entry under "cachet-example:",
// then removes it. On a TLS failure it prints what is wrong — an untrusted or
// expired certificate, a host name mismatch, a missing client certificate —
// and exits 1; an unusable file is a ConfigError at construction (exit 2).
#include <cachet/cachet.hpp>

#include <chrono>
#include <cstdio>
#include <string>

using namespace std::chrono_literals;

int main(int argc, char** argv) {
  if (argc != 4 && argc != 6) {
    std::fprintf(stderr, "usage: %s <host> <port> <ca.pem> [<client-cert.pem> <client-key.pem>]\n", argv[0]);
    return 2;
  }
  cachet::RedisOptions options;
  options.host = argv[1];
  options.port = std::stoi(argv[2]);
  options.key_prefix = "cachet-example:";
  options.connect_timeout = 1s;  // TCP connect + TLS handshake
  options.on_error = cachet::ErrorPolicy::Throw;
  options.tls.enabled = true;
  options.tls.ca_certs = argv[3];
  if (argc == 6) {
    options.tls.certfile = argv[4];
    options.tls.keyfile = argv[5];
  }

  try {
    cachet::RedisCache cache(options);  // reads the files; does not connect yet
    cache.set("greeting", "hello over TLS", 60s);
    std::printf("greeting: %s\n", cache.get("greeting").value_or("(miss)").c_str());
    cache.remove("greeting");
  } catch (const cachet::ConfigError& e) {
    std::fprintf(stderr, "configuration: %s\n", e.what());
    return 2;
  } catch (const cachet::BackendError& e) {
    std::fprintf(stderr, "%s failure (%s): %s\n", cachet::to_string(e.kind()), cachet::to_string(e.cause()),
                 e.what());
    return 1;
  }
  return 0;
}
