// RedisCache over TLS, against real TLS-only redis-servers that the harness
// starts with throw-away certificates (tests/support/tls_certs): the
// conformance suite, then every failure a user must be able to tell apart,
// as they observe it — the ErrorKind / ErrorCause of BackendError, its
// message, stats() — and the runtime fail-safe across a TLS server restart.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <chrono>
#include <cstdio>
#include <tuple>
#include <utility>
#include <memory>
#include <sstream>
#include <string>
#include <thread>

#include "cachet/cachet.hpp"
#include "support/captured_log.hpp"
#include "support/conformance.hpp"
#include "support/redis_server.hpp"
#include "support/tls_certs.hpp"

using cachet::BackendError;
using cachet::ErrorCause;
using cachet::ErrorKind;
using cachet::ErrorPolicy;
using cachet::RedisCache;
using cachet::RedisOptions;
using cachet::TlsOptions;
using cachet::Ttl;
using cachet::test::CapturedLog;
using cachet::test::RedisServer;
using cachet::test::TlsCerts;
using cachet::test::TlsServerKind;
using cachet::test::unique_prefix;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace {

const TlsCerts& certs() { return TlsCerts::shared(); }

// TLS options trusting the test CA, for `server` at `host`; generous timeouts
// (sanitizer builds make handshakes slow) unless a test sets its own.
RedisOptions tls_options(const RedisServer& server, const std::string& host = "localhost") {
  RedisOptions o;
  o.host = host;
  o.port = server.port();
  o.tls = certs().trusting_ca();
  o.key_prefix = unique_prefix();
  o.connect_timeout = 2000ms;
  o.socket_timeout = 2000ms;
  return o;
}

// What a Throw-policy get() throws; fails the test when nothing was thrown.
BackendError failure_of(RedisOptions o) {
  o.on_error = ErrorPolicy::Throw;
  RedisCache cache(std::move(o));
  try {
    cache.get("k");
  } catch (const BackendError& e) {
    return e;
  }
  ADD_FAILURE() << "no BackendError thrown";
  return BackendError(ErrorKind::reply, "");
}

bool has(const std::string& haystack, const std::string& needle) { return haystack.find(needle) != std::string::npos; }


class RedisTls : public ::testing::Test {
 protected:
  void SetUp() override {
    REQUIRE_REDIS();
    if (!cachet::test::openssl_available()) FAIL() << "the openssl command is needed to make test certificates";
  }
};

}  // namespace

// ---- the shared conformance suite, over TLS ------------------------------------

struct RedisTlsFixture {
  static std::unique_ptr<cachet::Cache> make(Ttl default_timeout) {
    if (!cachet::test::redis_server_available()) {
      if (!cachet::test::skip_redis_tests_requested()) ADD_FAILURE() << "redis-server not found";
      return nullptr;
    }
    auto o = tls_options(cachet::test::tls_server(TlsServerKind::basic));
    o.default_timeout = default_timeout;
    return std::make_unique<RedisCache>(o);
  }
};

using RedisTlsFixtures = ::testing::Types<RedisTlsFixture>;
INSTANTIATE_TYPED_TEST_SUITE_P(RedisOverTls, CacheConformance, RedisTlsFixtures);

// ---- verification ----------------------------------------------------------------

TEST_F(RedisTls, ByNameAndByAddress) {
  RedisServer& server = cachet::test::tls_server(TlsServerKind::basic);
  for (const char* host : {"localhost", "127.0.0.1"}) {
    RedisCache cache(tls_options(server, host));
    ASSERT_TRUE(cache.set("k", "v")) << host;
    EXPECT_EQ(cache.get("k"), "v");
    EXPECT_TRUE(cache.ping());
    EXPECT_EQ(cache.stats().errors, 0u);
    const auto session = cache.tls_session();
    ASSERT_TRUE(session.has_value());
    EXPECT_EQ(session->version, "TLSv1.3");
    EXPECT_FALSE(session->cipher.empty());
    EXPECT_EQ(session->peer_subject, "CN=localhost");
    EXPECT_EQ(session->peer_issuer, "CN=cachet test CA");
    EXPECT_GT(session->peer_not_after, std::chrono::system_clock::now());
  }
  RedisServer plain;
  RedisOptions o;
  o.host = "127.0.0.1";
  o.port = plain.port();
  EXPECT_FALSE(RedisCache(o).tls_session().has_value());
}

TEST_F(RedisTls, WrongCaIsAnUntrustedCertificate) {
  RedisServer& server = cachet::test::tls_server(TlsServerKind::basic);
  auto o = tls_options(server);
  o.tls.ca_certs = certs().other_ca_cert;
  const BackendError e = failure_of(o);
  EXPECT_EQ(e.kind(), ErrorKind::tls);
  EXPECT_EQ(e.cause(), ErrorCause::certificate_untrusted);
  EXPECT_TRUE(has(e.what(), "TLS: server certificate not trusted")) << e.what();
  EXPECT_TRUE(has(e.what(), "localhost:" + std::to_string(server.port()))) << e.what();

  // Fail-open: a miss, counted under errors_tls.
  RedisCache cache(o);
  EXPECT_FALSE(cache.get("k").has_value());
  EXPECT_EQ(cache.stats().errors_tls, 1u);
  EXPECT_EQ(cache.stats().errors, 1u);
}

TEST_F(RedisTls, HostNameMismatchAndItsOverrides) {
  RedisServer& server = cachet::test::tls_server(TlsServerKind::wrong_host);
  auto o = tls_options(server);
  const BackendError e = failure_of(o);
  EXPECT_EQ(e.kind(), ErrorKind::tls);
  EXPECT_EQ(e.cause(), ErrorCause::certificate_host_mismatch);
  EXPECT_TRUE(has(e.what(), "host name mismatch: expected 'localhost'")) << e.what();
  EXPECT_TRUE(has(e.what(), "DNS:wrong.example")) << e.what();

  o.tls.check_hostname = false;
  RedisCache unchecked(o);
  EXPECT_TRUE(unchecked.set("k", "v"));

  auto named = tls_options(server, "127.0.0.1");
  named.tls.server_name = "wrong.example";
  RedisCache by_name(named);
  EXPECT_TRUE(by_name.set("k", "v"));
}

TEST_F(RedisTls, ExpiredCertificate) {
  RedisServer& server = cachet::test::tls_server(TlsServerKind::expired);
  const BackendError e = failure_of(tls_options(server));
  EXPECT_EQ(e.kind(), ErrorKind::tls);
  EXPECT_EQ(e.cause(), ErrorCause::certificate_expired);
  EXPECT_TRUE(has(e.what(), "expired")) << e.what();
}

TEST_F(RedisTls, NoVerificationWorksAndWarnsOncePerCache) {
  RedisServer& server = cachet::test::tls_server(TlsServerKind::expired);
  CapturedLog log;
  auto o = tls_options(server);
  o.tls.cert_reqs = TlsOptions::CertReqs::none;
  RedisCache cache(o);
  EXPECT_TRUE(cache.set("k", "v"));
  EXPECT_EQ(cache.get("k"), "v");
  const std::string text = log.out.str();
  const std::string warning = "TLS certificate verification is off (ssl_cert_reqs=none)";
  const auto first = text.find(warning);
  ASSERT_NE(first, std::string::npos) << text;
  EXPECT_EQ(text.find(warning, first + warning.size()), std::string::npos) << "one warning per cache: " << text;
  EXPECT_TRUE(has(text, "pose as the server")) << text;
}

TEST_F(RedisTls, MutualTls) {
  RedisServer& server = cachet::test::tls_server(TlsServerKind::mutual);
  auto o = tls_options(server);
  BackendError e = failure_of(o);
  EXPECT_EQ(e.kind(), ErrorKind::tls);
  EXPECT_EQ(e.cause(), ErrorCause::client_certificate_required);
  EXPECT_TRUE(has(e.what(), "requires a client certificate")) << e.what();

  o.tls.certfile = certs().client_cert;
  o.tls.keyfile = certs().client_key;
  RedisCache given(o);
  EXPECT_TRUE(given.set("k", "v"));
  EXPECT_EQ(given.get("k"), "v");

  o.tls.keyfile = certs().client_key_encrypted;
  o.tls.key_password = certs().client_key_password;
  RedisCache encrypted(o);
  EXPECT_TRUE(encrypted.set("k", "v"));

  o.tls.certfile = certs().foreign_client_cert;
  o.tls.keyfile = certs().foreign_client_key;
  o.tls.key_password.clear();
  e = failure_of(o);
  EXPECT_EQ(e.kind(), ErrorKind::tls);
  EXPECT_EQ(e.cause(), ErrorCause::client_certificate_rejected);
  EXPECT_TRUE(has(e.what(), "rejected the client certificate")) << e.what();
}

TEST_F(RedisTls, UnusableFilesAreConfigErrorsAtConstruction) {
  RedisServer& server = cachet::test::tls_server(TlsServerKind::basic);
  auto o = tls_options(server);
  o.tls.ca_certs = "/nonexistent/ca.pem";
  try {
    RedisCache cache(o);
    ADD_FAILURE() << "no ConfigError";
  } catch (const cachet::ConfigError& e) {
    EXPECT_TRUE(has(e.what(), "/nonexistent/ca.pem")) << e.what();
  }
  o = tls_options(server);
  o.tls.certfile = certs().client_cert;
  o.tls.keyfile = certs().client_key_encrypted;
  o.tls.key_password = "wrong-" + certs().client_key_password;
  try {
    RedisCache cache(o);
    ADD_FAILURE() << "no ConfigError";
  } catch (const cachet::ConfigError& e) {
    EXPECT_TRUE(has(e.what(), certs().client_key_encrypted)) << e.what();
    EXPECT_FALSE(has(e.what(), certs().client_key_password)) << e.what();
  }
}

TEST_F(RedisTls, UnixSocketIsRefused) {
  auto o = tls_options(cachet::test::tls_server(TlsServerKind::basic));
  o.unix_socket = "/tmp/redis.sock";
  try {
    RedisCache cache(o);
    ADD_FAILURE() << "no ConfigError";
  } catch (const cachet::ConfigError& e) {
    EXPECT_TRUE(has(e.what(), "unix socket")) << e.what();
    EXPECT_TRUE(has(e.what(), "TLS")) << e.what();
  }
}

TEST_F(RedisTls, AclUserAndDatabase) {
  RedisServer& server = cachet::test::tls_server(TlsServerKind::basic);
  ASSERT_EQ(server.command({"ACL", "SETUSER", "tls-user", "on", ">tls-user-pw", "~*", "&*", "+@all"}), "OK");
  auto o = tls_options(server);
  o.username = "tls-user";
  o.password = "tls-user-pw";
  o.db = 3;
  RedisCache cache(o);
  ASSERT_TRUE(cache.set("k", "v"));
  EXPECT_EQ(cache.get("k"), "v");
  EXPECT_GE(server.dbsize(3), 1);

  o.password = "not-the-pw";
  const BackendError e = failure_of(o);
  EXPECT_EQ(e.kind(), ErrorKind::connection);
  EXPECT_EQ(e.cause(), ErrorCause::auth);
  EXPECT_FALSE(has(e.what(), "not-the-pw")) << e.what();
}

// ---- timeouts, restarts, mix-ups -----------------------------------------------

TEST_F(RedisTls, StoppedServerDuringHandshakeAndDuringACommand) {
  RedisServer server(cachet::test::tls_server_options(certs().server_cert, certs().server_key, false));
  auto o = tls_options(server);
  o.connect_timeout = 300ms;
  o.socket_timeout = 300ms;
  o.on_error = ErrorPolicy::Throw;
  RedisCache warm(o);
  ASSERT_TRUE(warm.set("k", "v"));  // one connection open and idle

  server.pause();
  auto start = Clock::now();
  try {
    warm.get("k");
    ADD_FAILURE() << "no timeout";
  } catch (const BackendError& e) {
    EXPECT_EQ(e.kind(), ErrorKind::timeout) << e.what();
    EXPECT_TRUE(has(e.what(), "command timeout after 300 ms (GET on localhost:")) << e.what();
  }
  EXPECT_LT(Clock::now() - start, 2s);

  start = Clock::now();
  const BackendError e = failure_of(o);  // a new connection: the handshake hangs
  EXPECT_LT(Clock::now() - start, 2s);
  EXPECT_EQ(e.kind(), ErrorKind::timeout) << e.what();
  EXPECT_EQ(e.cause(), ErrorCause::tls_handshake_timeout) << e.what();
  EXPECT_TRUE(has(e.what(), "TLS handshake timeout after 300 ms")) << e.what();
  server.resume();
  EXPECT_EQ(warm.get("k"), "v");  // the timed-out connection was discarded
}

TEST_F(RedisTls, ServerRestartIsSurvived) {
  RedisServer server(cachet::test::tls_server_options(certs().server_cert, certs().server_key, false));
  RedisCache cache(tls_options(server));
  ASSERT_TRUE(cache.set("k", "v"));
  server.restart();  // no persistence: the data is gone, the pooled connection is dead
  EXPECT_FALSE(cache.get("k").has_value());
  EXPECT_EQ(cache.stats().errors, 0u) << "the idle check replaces the dead connection without a failed command";
  EXPECT_TRUE(cache.set("k", "v2"));
  EXPECT_EQ(cache.get("k"), "v2");
}

TEST_F(RedisTls, TlsToAPlaintextPort) {
  RedisServer plain;
  RedisOptions o = tls_options(plain, "127.0.0.1");
  o.connect_timeout = 400ms;
  const auto start = Clock::now();
  const BackendError e = failure_of(o);
  EXPECT_LT(Clock::now() - start, 1500ms);
  EXPECT_EQ(e.kind(), ErrorKind::tls) << e.what();
  EXPECT_EQ(e.cause(), ErrorCause::plaintext_server) << e.what();
  EXPECT_TRUE(has(e.what(), "TLS handshake failed: the server answered in plaintext")) << e.what();
}

TEST_F(RedisTls, PlaintextToATlsPort) {
  RedisServer& server = cachet::test::tls_server(TlsServerKind::basic);
  RedisOptions o;
  o.host = "127.0.0.1";
  o.port = server.port();
  o.key_prefix = unique_prefix();
  o.socket_timeout = 1000ms;
  const auto start = Clock::now();
  const BackendError e = failure_of(o);
  EXPECT_LT(Clock::now() - start, 2500ms);
  EXPECT_EQ(e.kind(), ErrorKind::tls) << e.what();
  EXPECT_EQ(e.cause(), ErrorCause::tls_server) << e.what();
  EXPECT_TRUE(has(e.what(), "TLS server on a plaintext port")) << e.what();
  EXPECT_TRUE(has(e.what(), "GET on 127.0.0.1:" + std::to_string(server.port()))) << e.what();
}

TEST_F(RedisTls, RuntimeFallbackAcrossAKilledTlsServerReplaysTheInvalidation) {
  RedisServer server(cachet::test::tls_server_options(certs().server_cert, certs().server_key, false));
  auto o = tls_options(server);
  o.connect_timeout = 200ms;
  o.socket_timeout = 200ms;
  o.pool_wait_timeout = 200ms;
  o.pool_size = 2;
  o.on_error = ErrorPolicy::Throw;
  const std::string prefix = o.key_prefix;
  cachet::FallbackOptions f;
  f.failure_threshold = 1;
  f.cooldown = 100ms;
  f.max_cooldown = 400ms;
  cachet::FallbackCache cache(std::make_unique<RedisCache>(o), std::make_unique<cachet::SimpleCache>(), f);
  ASSERT_TRUE(cache.set("a", "1"));
  ASSERT_TRUE(cache.set("b", "2"));

  server.kill();
  EXPECT_TRUE(cache.set("a", "10"));  // memory, journaled
  EXPECT_EQ(cache.state(), cachet::BreakerState::open);
  cache.remove("b");                  // an invalidation, journaled
  EXPECT_EQ(cache.get("a"), "10");

  server.start();  // empty: what Redis holds after the restart comes from the replay
  server.command({"SET", prefix + "b", "stale"});
  const auto deadline = Clock::now() + 10s;
  while (cache.state() != cachet::BreakerState::closed && Clock::now() < deadline) std::this_thread::sleep_for(20ms);
  ASSERT_EQ(cache.state(), cachet::BreakerState::closed);
  EXPECT_EQ(server.command({"GET", prefix + "a"}), "10");
  EXPECT_EQ(server.command({"GET", prefix + "b"}), "(nil)") << "the journaled remove was replayed";
  EXPECT_GE(cache.breaker().replays, 1u);
}

// ---- HybridCache over TLS -------------------------------------------------------

TEST_F(RedisTls, HybridCacheInvalidationChannelOverTls) {
  const RedisServer& server = cachet::test::tls_server(TlsServerKind::basic);
  for (auto mode : {cachet::InvalidationMode::bcast, cachet::InvalidationMode::tracking}) {
    auto o = tls_options(server);
    cachet::InvalidationOptions io;
    io.mode = mode;
    auto channel = cachet::redis_invalidation_channel(o, io);
    cachet::HybridCache cache(std::make_shared<cachet::SimpleCache>(), std::make_unique<RedisCache>(o),
                              std::move(channel));
    EXPECT_EQ(cache.mode(), mode) << cache.hybrid_stats().mode_reason;
    const auto check = cache.check_coherence(3s);
    EXPECT_TRUE(check.ok) << cachet::to_string(mode) << ": " << check.detail;
  }
}

// ---- secrets ---------------------------------------------------------------------

TEST_F(RedisTls, SecretsNeverInLogsOrExceptions) {
  RedisServer& server = cachet::test::tls_server(TlsServerKind::mutual);
  const std::string password = "pw-Tls-Sentinel-51";
  const std::string passphrase = "pp-Tls-Sentinel-52";
  std::string corpus;
  {
    CapturedLog log;
    auto o = tls_options(server);
    o.password = password;  // the server has no password: AUTH fails
    o.tls.certfile = certs().client_cert;
    o.tls.keyfile = certs().client_key_encrypted;
    o.tls.key_password = certs().client_key_password;
    RedisCache fail_open(o);
    EXPECT_FALSE(fail_open.get("k").has_value());  // logged
    corpus += failure_of(o).what();
    corpus += fail_open.options().tls.to_string();
    o.tls.key_password = passphrase;  // wrong: ConfigError
    try {
      RedisCache cache(o);
    } catch (const cachet::ConfigError& e) {
      corpus += e.what();
    }
    corpus += o.tls.to_string();
    corpus += log.out.str();
  }
  EXPECT_TRUE(has(corpus, "AUTH failed")) << corpus;
  EXPECT_TRUE(has(corpus, "key_password=***")) << corpus;
  EXPECT_TRUE(has(corpus, "cannot decrypt the private key")) << corpus;
  EXPECT_FALSE(has(corpus, password)) << corpus;
  EXPECT_FALSE(has(corpus, passphrase)) << corpus;
  EXPECT_FALSE(has(corpus, certs().client_key_password)) << corpus;
}

// ---- examples/tls.cpp ------------------------------------------------------------

#ifdef CACHET_TLS_EXAMPLE_PATH
namespace {
// Runs the example; its exit status and everything it printed.
std::pair<int, std::string> run_example(const std::string& args) {
  const std::string command = std::string(CACHET_TLS_EXAMPLE_PATH) + " " + args + " 2>&1";
  FILE* p = ::popen(command.c_str(), "r");
  if (p == nullptr) return {-1, "popen failed"};
  std::string out;
  char buf[512];
  while (std::fgets(buf, sizeof buf, p) != nullptr) out += buf;
  const int status = ::pclose(p);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}
}  // namespace

TEST_F(RedisTls, ExampleRunsAgainstTheHarnessServer) {
  RedisServer& server = cachet::test::tls_server(TlsServerKind::basic);
  const std::string port = std::to_string(server.port());
  auto [status, out] = run_example("localhost " + port + " " + certs().ca_cert);
  EXPECT_EQ(status, 0) << out;
  EXPECT_TRUE(has(out, "greeting: hello over TLS")) << out;

  std::tie(status, out) = run_example("localhost " + port + " " + certs().other_ca_cert);
  EXPECT_EQ(status, 1) << out;
  EXPECT_TRUE(has(out, "tls failure (certificate_untrusted): TLS: server certificate not trusted")) << out;

  RedisServer& mutual = cachet::test::tls_server(TlsServerKind::mutual);
  std::tie(status, out) = run_example("localhost " + std::to_string(mutual.port()) + " " + certs().ca_cert + " " +
                                      certs().client_cert + " " + certs().client_key);
  EXPECT_EQ(status, 0) << out;
}
#endif
