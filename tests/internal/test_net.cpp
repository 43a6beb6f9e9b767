// The transport (src/net): plain TCP, unix sockets and TLS against real
// redis-server processes, and every class of failure a user must be able to
// tell apart (untrusted certificate, host name mismatch, expired, client
// certificate required / rejected, plaintext and TLS mixed up, timeouts).
// Built from the transport's sources (internal symbols, hidden in the shared
// library). RESP is written and read by hand here: the transport carries bytes.
#include <gtest/gtest.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include <chrono>
#include <memory>
#include <string>
#include <thread>

#include "cachet/errors.hpp"
#include "net/stream.hpp"
#include "support/net.hpp"
#include "support/redis_server.hpp"
#include "support/tls_certs.hpp"

namespace cachet::net {
namespace {

using namespace std::chrono_literals;
using test::RedisServer;
using test::TlsCerts;
using test::TlsServerKind;

constexpr char kPing[] = "*1\r\n$4\r\nPING\r\n";

Wait within(std::chrono::milliseconds ms) { return Wait::until(Clock::now() + ms); }

Endpoint tcp(const std::string& host, int port) { return Endpoint{host, port, ""}; }

SocketOptions socket_options(std::chrono::milliseconds io_timeout = 1000ms) {
  SocketOptions o;
  o.io_timeout = io_timeout;
  return o;
}

std::unique_ptr<Stream> open(const Endpoint& at, const TlsContext* tls, NetError& error,
                             std::chrono::milliseconds budget = 2000ms) {
  return Stream::open(at, socket_options(), tls, within(budget), error);
}

// Sends PING and reads one line; the reply ("+PONG"), or "" with `error` set.
std::string ping(Stream& s, const Wait& wait, NetError& error) {
  if (!s.write_all(kPing, sizeof kPing - 1, wait, error)) return "";
  std::string reply;
  char buf[256];
  while (reply.find("\r\n") == std::string::npos) {
    const std::size_t n = s.read_some(buf, sizeof buf, wait, error);
    if (n == 0) return "";
    reply.append(buf, n);
  }
  return reply.substr(0, reply.find("\r\n"));
}

std::string ping(Stream& s) {
  NetError error;
  const std::string reply = ping(s, within(2000ms), error);
  EXPECT_FALSE(error) << error.message();
  return reply;
}

// Opens and pings; the first failure of either.
NetError open_and_ping(const Endpoint& at, const TlsContext& tls) {
  NetError error;
  auto s = open(at, &tls, error);
  if (s) ping(*s, within(2000ms), error);
  return error;
}

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

class NetTest : public ::testing::Test {
 protected:
  void SetUp() override {
    REQUIRE_REDIS();
    if (!test::openssl_available()) FAIL() << "the openssl command is needed to make test certificates";
  }
  static const TlsCerts& certs() { return TlsCerts::shared(); }
};

// --- plain TCP and unix sockets ---------------------------------------------

TEST_F(NetTest, PlainTcpRoundTripInBothWaitModes) {
  static RedisServer server;
  NetError error;
  auto s = open(tcp("127.0.0.1", server.port()), nullptr, error);
  ASSERT_TRUE(s) << error.message();
  EXPECT_FALSE(s->is_tls());
  EXPECT_EQ(ping(*s), "+PONG");
  EXPECT_EQ(ping(*s, Wait::per_wait(), error), "+PONG") << error.message();
  EXPECT_TRUE(s->idle_and_open());
  EXPECT_TRUE(s->tls_info().version.empty());
}

TEST_F(NetTest, LocalhostTriesEveryAddress) {
  RedisServer server;  // listens on 127.0.0.1 only; "localhost" may resolve to ::1 first
  NetError error;
  auto s = open(tcp("localhost", server.port()), nullptr, error);
  ASSERT_TRUE(s) << error.message();
  EXPECT_EQ(ping(*s), "+PONG");
}

TEST_F(NetTest, UnixSocketRoundTrip) {
  RedisServer::Options o;
  o.unix_socket = true;
  RedisServer server(o);
  NetError error;
  auto s = open(Endpoint{"", 0, server.unix_socket()}, nullptr, error);
  ASSERT_TRUE(s) << error.message();
  EXPECT_EQ(s->name(), server.unix_socket());
  EXPECT_EQ(ping(*s), "+PONG");
}

TEST_F(NetTest, RefusedNamesTheEndpoint) {
  const int port = test::free_loopback_port();
  NetError error;
  EXPECT_FALSE(open(tcp("127.0.0.1", port), nullptr, error));
  EXPECT_EQ(error.cause, Cause::refused);
  EXPECT_EQ(error.message(), "connection refused (127.0.0.1:" + std::to_string(port) + ")");

  EXPECT_FALSE(open(Endpoint{"", 0, "/nonexistent/cachet.sock"}, nullptr, error));
  EXPECT_EQ(error.cause, Cause::refused);
  EXPECT_TRUE(contains(error.message(), "/nonexistent/cachet.sock")) << error.message();
}

TEST_F(NetTest, UnresolvableHost) {
  NetError error;
  EXPECT_FALSE(open(tcp("no-such-host.invalid", 6379), nullptr, error));
  EXPECT_EQ(error.cause, Cause::resolve) << error.message();
  EXPECT_TRUE(contains(error.message(), "no-such-host.invalid:6379")) << error.message();
}

TEST_F(NetTest, ReadTimesOutOnAStoppedServerInBothWaitModes) {
  RedisServer server;
  NetError error;
  auto s = Stream::open(tcp("127.0.0.1", server.port()), socket_options(150ms), nullptr, within(1000ms), error);
  ASSERT_TRUE(s) << error.message();
  server.pause();
  const auto start = Clock::now();
  EXPECT_EQ(ping(*s, Wait::per_wait(), error), "");
  EXPECT_EQ(error.cause, Cause::timeout) << error.message();
  EXPECT_LT(Clock::now() - start, 1500ms);

  auto s2 = Stream::open(tcp("127.0.0.1", server.port()), socket_options(), nullptr, within(1000ms), error);
  ASSERT_TRUE(s2);  // the kernel accepts the connection while the server is stopped
  const auto start2 = Clock::now();
  EXPECT_EQ(ping(*s2, within(150ms), error), "");
  EXPECT_EQ(error.cause, Cause::timeout);
  EXPECT_LT(Clock::now() - start2, 1500ms);
  server.resume();
}

TEST_F(NetTest, WaitReadableSeesARepliesAndTimesOutWithout) {
  static RedisServer server;
  NetError error;
  auto s = open(tcp("127.0.0.1", server.port()), nullptr, error);
  ASSERT_TRUE(s);
  EXPECT_FALSE(s->wait_readable(within(50ms), error));
  EXPECT_EQ(error.cause, Cause::timeout);
  ASSERT_TRUE(s->write_all(kPing, sizeof kPing - 1, within(1000ms), error));
  EXPECT_TRUE(s->wait_readable(within(1000ms), error));
  EXPECT_EQ(ping(*s), "+PONG");  // the first reply is still queued: read it with the second
}

TEST_F(NetTest, IdleCheckSeesARestartedServer) {
  RedisServer server;
  NetError error;
  auto s = open(tcp("127.0.0.1", server.port()), nullptr, error);
  ASSERT_TRUE(s);
  EXPECT_TRUE(s->idle_and_open());
  server.restart();
  EXPECT_FALSE(s->idle_and_open());
}

// --- TLS ---------------------------------------------------------------------

TEST_F(NetTest, TlsRoundTripVerifiesByNameAndByAddress) {
  RedisServer& server = test::tls_server(TlsServerKind::basic);
  const TlsContext tls(certs().trusting_ca());
  for (const char* host : {"localhost", "127.0.0.1"}) {
    NetError error;
    auto s = open(tcp(host, server.port()), &tls, error);
    ASSERT_TRUE(s) << host << ": " << error.message();
    EXPECT_TRUE(s->is_tls());
    EXPECT_EQ(ping(*s), "+PONG");
    EXPECT_EQ(ping(*s, Wait::per_wait(), error), "+PONG") << error.message();
    EXPECT_TRUE(s->idle_and_open()) << "session tickets must not count as unexpected data";
    const TlsInfo info = s->tls_info();
    EXPECT_EQ(info.version, "TLSv1.3");
    EXPECT_FALSE(info.cipher.empty());
    EXPECT_EQ(info.peer_subject, "CN=localhost");
    EXPECT_EQ(info.peer_issuer, "CN=cachet test CA");
    EXPECT_GT(info.peer_not_after, std::chrono::system_clock::now());
    EXPECT_LT(info.peer_not_after, std::chrono::system_clock::now() + std::chrono::hours(72));
  }
}

TEST_F(NetTest, TlsWaitIsNotMistakenForAnErrorLeftInOpenSslsQueue) {
  RedisServer& server = test::tls_server(TlsServerKind::basic);
  const TlsContext tls(certs().trusting_ca());
  NetError error;
  auto s = open(tcp("localhost", server.port()), &tls, error);
  ASSERT_TRUE(s) << error.message();
  // Other code on this thread failed in OpenSSL and left its error queued:
  // the stream must not take it for its own.
  ERR_raise(ERR_LIB_SSL, SSL_R_BAD_PACKET_LENGTH);
  EXPECT_TRUE(s->idle_and_open());
  ERR_raise(ERR_LIB_SSL, SSL_R_BAD_PACKET_LENGTH);
  EXPECT_EQ(ping(*s), "+PONG");
  // A read with nothing to read yet waits, and times out as a wait.
  ERR_raise(ERR_LIB_SSL, SSL_R_BAD_PACKET_LENGTH);
  char byte;
  EXPECT_EQ(s->read_some(&byte, 1, within(50ms), error), 0u);
  EXPECT_EQ(error.cause, Cause::timeout) << error.message();
  ERR_clear_error();
}

TEST_F(NetTest, TlsMinimumVersionAndLargeTransfers) {
  RedisServer& server = test::tls_server(TlsServerKind::basic);
  TlsOptions o = certs().trusting_ca();
  o.min_version = TlsOptions::Version::tls1_3;
  const TlsContext tls(o);
  NetError error;
  auto s = open(tcp("localhost", server.port()), &tls, error);
  ASSERT_TRUE(s) << error.message();
  // 3 MB out and back: many records, partial writes and reads.
  const std::string value(3 << 20, 'v');
  const std::string key = test::unique_prefix() + "big";
  std::string set = "*3\r\n$3\r\nSET\r\n$" + std::to_string(key.size()) + "\r\n" + key + "\r\n$" +
                    std::to_string(value.size()) + "\r\n" + value + "\r\n";
  std::string get = "*2\r\n$3\r\nGET\r\n$" + std::to_string(key.size()) + "\r\n" + key + "\r\n";
  ASSERT_TRUE(s->write_all(set.data(), set.size(), Wait::per_wait(), error)) << error.message();
  ASSERT_TRUE(s->write_all(get.data(), get.size(), Wait::per_wait(), error)) << error.message();
  const std::string expected = "+OK\r\n$" + std::to_string(value.size()) + "\r\n" + value + "\r\n";
  std::string got;
  std::string buf(16384, '\0');
  while (got.size() < expected.size()) {
    const std::size_t n = s->read_some(buf.data(), buf.size(), Wait::per_wait(), error);
    ASSERT_GT(n, 0u) << error.message();
    got.append(buf.data(), n);
  }
  EXPECT_TRUE(got == expected);
}

TEST_F(NetTest, TlsWrongCaIsAnUntrustedCertificate) {
  RedisServer& server = test::tls_server(TlsServerKind::basic);
  TlsOptions o = certs().trusting_ca();
  o.ca_certs = certs().other_ca_cert;
  const NetError error = open_and_ping(tcp("localhost", server.port()), TlsContext(o));
  EXPECT_EQ(error.cause, Cause::tls_untrusted) << error.message();
  const std::string m = error.message();
  EXPECT_TRUE(contains(m, "TLS: server certificate not trusted")) << m;
  EXPECT_TRUE(contains(m, "subject CN=localhost, issuer CN=cachet test CA")) << m;  // the server's own
  EXPECT_TRUE(contains(m, "(localhost:" + std::to_string(server.port()) + ")")) << m;
}

TEST_F(NetTest, TlsSystemTrustStoreDoesNotTrustATestCa) {
  RedisServer& server = test::tls_server(TlsServerKind::basic);
  TlsOptions o;
  o.enabled = true;  // no CA given: the system store
  const NetError error = open_and_ping(tcp("localhost", server.port()), TlsContext(o));
  EXPECT_EQ(error.cause, Cause::tls_untrusted) << error.message();
}

TEST_F(NetTest, TlsHostNameMismatchSaysExpectedAndPresented) {
  RedisServer& server = test::tls_server(TlsServerKind::wrong_host);
  const TlsContext tls(certs().trusting_ca());
  NetError error = open_and_ping(tcp("localhost", server.port()), tls);
  EXPECT_EQ(error.cause, Cause::tls_hostname) << error.message();
  EXPECT_TRUE(contains(error.message(), "host name mismatch: expected 'localhost', the certificate is for "
                                        "DNS:wrong.example"))
      << error.message();

  error = open_and_ping(tcp("127.0.0.1", server.port()), tls);
  EXPECT_EQ(error.cause, Cause::tls_hostname);
  EXPECT_TRUE(contains(error.message(), "expected '127.0.0.1'")) << error.message();

  TlsOptions unchecked = certs().trusting_ca();
  unchecked.check_hostname = false;
  EXPECT_FALSE(open_and_ping(tcp("localhost", server.port()), TlsContext(unchecked)));

  TlsOptions named = certs().trusting_ca();
  named.server_name = "wrong.example";
  EXPECT_FALSE(open_and_ping(tcp("127.0.0.1", server.port()), TlsContext(named)));

  // check_hostname=false still verifies the chain.
  unchecked.ca_certs = certs().other_ca_cert;
  EXPECT_EQ(open_and_ping(tcp("localhost", server.port()), TlsContext(unchecked)).cause, Cause::tls_untrusted);
}

TEST_F(NetTest, TlsExpiredCertificate) {
  RedisServer& server = test::tls_server(TlsServerKind::expired);
  const NetError error = open_and_ping(tcp("localhost", server.port()), TlsContext(certs().trusting_ca()));
  EXPECT_EQ(error.cause, Cause::tls_expired) << error.message();
  EXPECT_TRUE(contains(error.message(), "TLS: server certificate expired (valid from ")) << error.message();

  TlsOptions none;
  none.enabled = true;
  none.cert_reqs = TlsOptions::CertReqs::none;  // no verification at all
  EXPECT_FALSE(open_and_ping(tcp("localhost", server.port()), TlsContext(none)));
}

TEST_F(NetTest, TlsMutualAuthentication) {
  RedisServer& server = test::tls_server(TlsServerKind::mutual);
  const Endpoint at = tcp("localhost", server.port());

  NetError error = open_and_ping(at, TlsContext(certs().trusting_ca()));
  EXPECT_EQ(error.cause, Cause::tls_client_cert_required) << error.message();
  EXPECT_TRUE(contains(error.message(), "requires a client certificate")) << error.message();

  TlsOptions with_cert = certs().trusting_ca();
  with_cert.certfile = certs().client_cert;
  with_cert.keyfile = certs().client_key;
  EXPECT_FALSE(open_and_ping(at, TlsContext(with_cert)));

  TlsOptions encrypted = with_cert;
  encrypted.keyfile = certs().client_key_encrypted;
  encrypted.key_password = certs().client_key_password;
  EXPECT_FALSE(open_and_ping(at, TlsContext(encrypted)));

  TlsOptions foreign = certs().trusting_ca();
  foreign.certfile = certs().foreign_client_cert;
  foreign.keyfile = certs().foreign_client_key;
  error = open_and_ping(at, TlsContext(foreign));
  EXPECT_EQ(error.cause, Cause::tls_client_cert_rejected) << error.message();
  EXPECT_TRUE(contains(error.message(), "rejected the client certificate")) << error.message();
}

TEST_F(NetTest, TlsConfigErrorsNameTheFileNeverThePassphrase) {
  auto message_of = [](const TlsOptions& o) -> std::string {
    try {
      TlsContext tls(o);
    } catch (const ConfigError& e) {
      return e.what();
    }
    return "(no ConfigError)";
  };
  TlsOptions o = certs().trusting_ca();
  o.ca_certs = certs().dir + "/missing.pem";
  EXPECT_TRUE(contains(message_of(o), "cannot read '" + o.ca_certs + "': No such file or directory"))
      << message_of(o);
  o.ca_certs = certs().server_key;  // a file without a certificate
  EXPECT_TRUE(contains(message_of(o), "cannot load CA certificates from ca_certs (ssl_ca_certs) '" +
                                          certs().server_key + "'"))
      << message_of(o);

  o = certs().trusting_ca();
  o.keyfile = certs().client_key;
  EXPECT_TRUE(contains(message_of(o), "keyfile (ssl_keyfile) is set without certfile")) << message_of(o);

  o.certfile = certs().client_cert;
  o.keyfile = certs().client_key_encrypted;
  o.key_password = "not-the-passphrase-7c1";
  std::string m = message_of(o);
  EXPECT_TRUE(contains(m, "cannot decrypt the private key in keyfile (ssl_keyfile) '" + o.keyfile + "'")) << m;
  EXPECT_FALSE(contains(m, "not-the-passphrase-7c1")) << m;
  o.key_password.clear();
  EXPECT_TRUE(contains(message_of(o), "wrong or missing key_password")) << message_of(o);

  o.keyfile = certs().server_key;  // a key that is not the certificate's
  EXPECT_TRUE(contains(message_of(o), "does not match the certificate")) << message_of(o);
}

TEST_F(NetTest, TlsOverAUnixSocketIsRefused) {
  const TlsContext tls(certs().trusting_ca());
  NetError error;
  EXPECT_FALSE(open(Endpoint{"", 0, "/tmp/redis.sock"}, &tls, error));
  EXPECT_EQ(error.cause, Cause::connect_failed);
  EXPECT_TRUE(contains(error.message(), "TLS over a unix socket")) << error.message();
}

TEST_F(NetTest, TlsToAPlaintextPortIsNamedWithinTheTimeout) {
  static RedisServer plain;
  const TlsContext tls(certs().trusting_ca());
  NetError error;
  const auto start = Clock::now();
  EXPECT_FALSE(open(tcp("127.0.0.1", plain.port()), &tls, error, 400ms));
  EXPECT_LT(Clock::now() - start, 1000ms);
  EXPECT_EQ(error.cause, Cause::tls_plaintext_peer) << error.message();
  EXPECT_TRUE(contains(error.message(), "TLS handshake failed: the server answered in plaintext, not TLS"))
      << error.message();
}

TEST_F(NetTest, PlaintextToATlsPortIsDetectedByTheProbe) {
  RedisServer& server = test::tls_server(TlsServerKind::basic);
  NetError error;
  auto s = open(tcp("127.0.0.1", server.port()), nullptr, error);
  ASSERT_TRUE(s) << error.message();  // TCP alone succeeds
  EXPECT_EQ(ping(*s, within(1000ms), error), "");
  EXPECT_TRUE(error.cause == Cause::reset || error.cause == Cause::closed) << error.message();
  EXPECT_TRUE(s->peer_speaks_tls(within(1000ms)));

  static RedisServer plain;
  auto p = open(tcp("127.0.0.1", plain.port()), nullptr, error);
  ASSERT_TRUE(p);
  EXPECT_FALSE(p->peer_speaks_tls(within(1000ms)));
}

TEST_F(NetTest, TlsHandshakeTimeoutOnAStoppedServer) {
  RedisServer server(test::tls_server_options(certs().server_cert, certs().server_key, false));
  const TlsContext tls(certs().trusting_ca());
  server.pause();
  NetError error;
  const auto start = Clock::now();
  EXPECT_FALSE(open(tcp("localhost", server.port()), &tls, error, 300ms));
  EXPECT_LT(Clock::now() - start, 1000ms);
  EXPECT_EQ(error.cause, Cause::tls_handshake_timeout) << error.message();
  EXPECT_TRUE(contains(error.message(), "TLS handshake timeout")) << error.message();
  server.resume();
}

TEST_F(NetTest, TlsHandshakeTimeoutOnASilentPeer) {
  test::FakeServer silent(test::FakeServer::Mode::BlackHole);
  NetError error;
  const TlsContext tls(certs().trusting_ca());
  EXPECT_FALSE(open(tcp("127.0.0.1", silent.port()), &tls, error, 200ms));
  EXPECT_EQ(error.cause, Cause::tls_handshake_timeout) << error.message();
}

TEST_F(NetTest, TlsCommandTimeoutAndRestart) {
  RedisServer server(test::tls_server_options(certs().server_cert, certs().server_key, false));
  const TlsContext tls(certs().trusting_ca());
  NetError error;
  auto s = Stream::open(tcp("localhost", server.port()), socket_options(150ms), &tls, within(2000ms), error);
  ASSERT_TRUE(s) << error.message();
  EXPECT_EQ(ping(*s), "+PONG");
  server.pause();
  const auto start = Clock::now();
  EXPECT_EQ(ping(*s, Wait::per_wait(), error), "");
  EXPECT_EQ(error.cause, Cause::timeout) << error.message();
  EXPECT_LT(Clock::now() - start, 1500ms);
  server.resume();

  auto fresh = open(tcp("localhost", server.port()), &tls, error);
  ASSERT_TRUE(fresh) << error.message();
  EXPECT_EQ(ping(*fresh), "+PONG");
  server.restart();
  EXPECT_FALSE(fresh->idle_and_open());
  auto again = open(tcp("localhost", server.port()), &tls, error);
  ASSERT_TRUE(again) << error.message();
  EXPECT_EQ(ping(*again), "+PONG");
}

TEST_F(NetTest, TlsOptionsPrintRedacted) {
  TlsOptions o = certs().trusting_ca();
  o.certfile = certs().client_cert;
  o.key_password = "secret-passphrase-91";
  const std::string s = o.to_string();
  EXPECT_TRUE(contains(s, "key_password=***")) << s;
  EXPECT_FALSE(contains(s, "secret-passphrase-91")) << s;
  EXPECT_EQ(TlsOptions{}.to_string(), "tls{off}");
}

}  // namespace
}  // namespace cachet::net
