// CacheFactory against a real redis-server on loopback: the backend it picks,
// the fallback to memory and its reason for each way Redis can be unusable,
// the bounds on how long the probe takes, the `none` mode, and the null type.
#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <map>
#include <sstream>
#include <string>
#include <thread>

#include "cachet/cachet.hpp"
#include "support/net.hpp"
#include "support/redis_server.hpp"
#include "support/tls_certs.hpp"

using namespace std::chrono_literals;
using cachet::CacheConfig;
using cachet::CacheFactory;
using cachet::FallbackMode;
using Clock = std::chrono::steady_clock;
using Map = std::map<std::string, std::string>;

namespace {

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

// A redis config for `url`, with short timeouts so failure tests stay quick.
// Startup fallback unless `extra` says otherwise (the runtime tests do).
CacheConfig redis_config(const std::string& url, Map extra = {}) {
  Map m = {{"CACHE_TYPE", "redis"},
           {"REDIS_URL", url},
           {"CACHE_FALLBACK", "startup"},
           {"CACHE_KEY_PREFIX", cachet::test::unique_prefix()},
           {"CACHE_REDIS_CONNECT_TIMEOUT", "200"},
           {"CACHE_REDIS_SOCKET_TIMEOUT", "300"}};
  for (auto& [k, v] : extra) m[k] = v;
  return CacheConfig::from_map(m);
}

// The bound the factory promises for an unresponsive server, made generous:
// connect_timeout + socket_timeout + 2 s (precise timing is for bench/).
std::chrono::milliseconds generous_bound(const CacheConfig& c) {
  return *c.redis_connect_timeout + *c.redis_socket_timeout + 2000ms;
}

// Captures what cachet logs while alive; restores the built-in logger after.
class LogCapture {
 public:
  LogCapture() {
    auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(out_);
    sink->set_pattern("%l %v");
    auto lg = std::make_shared<spdlog::logger>("cachet-test", sink);
    lg->set_level(spdlog::level::trace);
    cachet::set_logger(lg);
  }
  ~LogCapture() { cachet::set_logger(nullptr); }
  LogCapture(const LogCapture&) = delete;
  LogCapture& operator=(const LogCapture&) = delete;
  std::string text() const { return out_.str(); }

 private:
  std::ostringstream out_;
};

std::size_t count_of(const std::string& text, const std::string& needle) {
  std::size_t n = 0;
  for (auto pos = text.find(needle); pos != std::string::npos; pos = text.find(needle, pos + 1)) ++n;
  return n;
}

}  // namespace

TEST(CacheFactory, NullType) {
  CacheFactory f(CacheConfig::from_map({{"CACHE_TYPE", "NullCache"}}));
  auto cache = f.create();
  ASSERT_NE(cache, nullptr);
  EXPECT_EQ(cache->backend(), "null");
  EXPECT_EQ(f.report().requested, "null");
  EXPECT_EQ(f.report().backend, "null");
  EXPECT_FALSE(f.report().fell_back);
  EXPECT_EQ(f.report().reason, "");
  EXPECT_EQ(f.report().probe_time, 0ms);
  EXPECT_TRUE(cache->set("k", "v"));
  EXPECT_FALSE(cache->get("k").has_value());
}

TEST(CacheFactory, SimpleTypeUsesTheConfiguredLimits) {
  CacheFactory f(CacheConfig::from_map({{"CACHE_THRESHOLD", "3"}, {"CACHE_DEFAULT_TIMEOUT", "0"}}));
  auto cache = f.create();
  ASSERT_NE(cache, nullptr);
  EXPECT_EQ(cache->backend(), "simple");
  EXPECT_EQ(f.report().requested, "simple");
  EXPECT_EQ(f.report().backend, "simple");
  EXPECT_FALSE(f.report().fell_back);
  auto* simple = dynamic_cast<cachet::SimpleCache*>(cache.get());
  ASSERT_NE(simple, nullptr);
  EXPECT_EQ(simple->options().max_items, 3u);
  EXPECT_TRUE(simple->options().default_timeout.is_never());
  EXPECT_TRUE(cache->set("k", "v"));
  EXPECT_EQ(cache->get("k"), std::optional<std::string>("v"));
  EXPECT_EQ(cache->ttl("k"), std::optional<cachet::Ttl>(cachet::Ttl::never()));
}

TEST(CacheFactory, LiveRedisGivesRedisAndLeavesNoProbeKey) {
  REQUIRE_REDIS();
  cachet::test::RedisServer server;
  const auto config = redis_config(server.url());
  CacheFactory f(config);
  LogCapture log;
  auto cache = f.create();
  ASSERT_NE(cache, nullptr);
  EXPECT_EQ(cache->backend(), "redis");
  const auto& r = f.report();
  EXPECT_EQ(r.requested, "redis");
  EXPECT_EQ(r.backend, "redis");
  EXPECT_FALSE(r.fell_back);
  EXPECT_EQ(r.reason, "");
  EXPECT_EQ(r.fallback, FallbackMode::startup);
  EXPECT_EQ(r.target, server.url());
  EXPECT_LT(r.probe_time, generous_bound(config));
  EXPECT_EQ(log.text(), "");  // nothing is logged on the success path

  // The probe cleaned up after itself.
  EXPECT_EQ(server.dbsize(), 0);
  // The cache built is the configured one: prefix and default timeout.
  ASSERT_TRUE(cache->set("k", "v"));
  EXPECT_EQ(server.command({"GET", config.key_prefix + "k"}), "v");
  const auto pttl = std::stoll(server.command({"PTTL", config.key_prefix + "k"}));
  EXPECT_GT(pttl, 290'000);
  EXPECT_LE(pttl, 300'000);
}

TEST(CacheFactory, ProbeKeyLivesUnderThePrefix) {
  REQUIRE_REDIS();
  cachet::test::RedisServer server;
  // An ACL user that may only touch keys under "allowed:": the probe succeeds
  // with that prefix and fails (NOPERM) with any other.
  ASSERT_EQ(server.command({"ACL", "SETUSER", "scoped", "on", ">scopedpw1", "~allowed:*", "+@all"}), "OK");
  const std::string url = "redis://scoped:scopedpw1@127.0.0.1:" + std::to_string(server.port()) + "/0";
  CacheFactory ok(redis_config(url, {{"CACHE_KEY_PREFIX", "allowed:"}}));
  ok.create();
  EXPECT_EQ(ok.report().backend, "redis") << ok.report().reason;

  LogCapture log;
  CacheFactory denied(redis_config(url, {{"CACHE_KEY_PREFIX", "other:"}}));
  auto cache = denied.create();
  EXPECT_EQ(cache->backend(), "simple");
  EXPECT_TRUE(denied.report().fell_back);
  EXPECT_TRUE(contains(denied.report().reason, "NOPERM")) << denied.report().reason;
  EXPECT_FALSE(contains(denied.report().reason, "scopedpw1"));
}

TEST(CacheFactory, ClosedPortFallsBackFast) {
  const int port = cachet::test::free_loopback_port();  // nothing listens there
  const auto config = redis_config("redis://127.0.0.1:" + std::to_string(port) + "/0");
  CacheFactory f(config);
  LogCapture log;
  const auto start = Clock::now();
  auto cache = f.create();
  const auto elapsed = Clock::now() - start;
  ASSERT_NE(cache, nullptr);
  EXPECT_EQ(cache->backend(), "simple");
  const auto& r = f.report();
  EXPECT_EQ(r.requested, "redis");
  EXPECT_EQ(r.backend, "simple");
  EXPECT_TRUE(r.fell_back);
  EXPECT_TRUE(contains(lower(r.reason), "refused")) << r.reason;
  // "A few milliseconds"; asserted loosely: well under the connect timeout + 1 s.
  EXPECT_LT(elapsed, *config.redis_connect_timeout + 1000ms);
  EXPECT_GE(r.probe_time, 1ms);  // it did probe
  EXPECT_LE(r.probe_time, std::chrono::ceil<std::chrono::milliseconds>(elapsed));

  // One warning, naming the reason and the mode.
  const std::string text = log.text();
  EXPECT_EQ(count_of(text, "warning "), 1u) << text;
  EXPECT_TRUE(contains(text, r.reason)) << text;
  EXPECT_TRUE(contains(text, "CACHE_FALLBACK=startup")) << text;

  // The fallback cache is a working SimpleCache built from the same config.
  EXPECT_TRUE(cache->set("k", "v"));
  EXPECT_EQ(cache->get("k"), std::optional<std::string>("v"));
}

TEST(CacheFactory, StoppedServerFallsBackWithinTheTimeouts) {
  REQUIRE_REDIS();
  cachet::test::RedisServer server;
  const auto config = redis_config(server.url());
  server.pause();  // SIGSTOP: TCP connects still complete, nothing answers
  CacheFactory f(config);
  const auto start = Clock::now();
  auto cache = f.create();
  const auto elapsed = Clock::now() - start;
  server.resume();
  EXPECT_EQ(cache->backend(), "simple");
  EXPECT_TRUE(f.report().fell_back);
  EXPECT_TRUE(contains(lower(f.report().reason), "timeout")) << f.report().reason;
  EXPECT_LT(elapsed, generous_bound(config));
  EXPECT_GE(f.report().probe_time, 250ms);  // it did wait for a reply (socket timeout 300 ms)
}

TEST(CacheFactory, BlackHoleListenerFallsBackWithinTheTimeouts) {
  cachet::test::FakeServer hole(cachet::test::FakeServer::Mode::BlackHole);
  const auto config = redis_config(hole.url());
  CacheFactory f(config);
  const auto start = Clock::now();
  auto cache = f.create();
  const auto elapsed = Clock::now() - start;
  EXPECT_EQ(cache->backend(), "simple");
  EXPECT_TRUE(f.report().fell_back);
  EXPECT_TRUE(contains(lower(f.report().reason), "timeout")) << f.report().reason;
  EXPECT_LT(elapsed, generous_bound(config));
  EXPECT_GE(hole.connections_accepted(), 1);
}

TEST(CacheFactory, GarbageServerFallsBack) {
  cachet::test::FakeServer garbage(cachet::test::FakeServer::Mode::Garbage);
  const auto config = redis_config(garbage.url());
  CacheFactory f(config);
  const auto start = Clock::now();
  auto cache = f.create();
  EXPECT_LT(Clock::now() - start, generous_bound(config));
  EXPECT_EQ(cache->backend(), "simple");
  EXPECT_TRUE(f.report().fell_back);
  EXPECT_FALSE(f.report().reason.empty());
}

TEST(CacheFactory, WrongPasswordFallsBackAndSaysWhy) {
  REQUIRE_REDIS();
  cachet::test::RedisServer::Options opts;
  opts.args = {"--requirepass", "right-pass-9"};
  opts.password = "right-pass-9";
  cachet::test::RedisServer server(opts);
  const std::string host = "127.0.0.1:" + std::to_string(server.port());

  LogCapture log;
  CacheFactory wrong(redis_config("redis://:wrong-pass-7@" + host + "/0"));
  auto cache = wrong.create();
  EXPECT_EQ(cache->backend(), "simple");
  EXPECT_TRUE(wrong.report().fell_back);
  const std::string reason = wrong.report().reason;
  EXPECT_TRUE(contains(reason, "WRONGPASS") || contains(reason, "NOAUTH") || contains(reason, "invalid password"))
      << reason;
  EXPECT_FALSE(contains(reason, "wrong-pass-7")) << reason;
  EXPECT_EQ(wrong.report().target, "redis://:***@" + host + "/0");
  EXPECT_FALSE(contains(log.text(), "wrong-pass-7")) << log.text();

  CacheFactory missing(redis_config("redis://" + host + "/0"));
  missing.create();
  EXPECT_TRUE(missing.report().fell_back);
  EXPECT_TRUE(contains(missing.report().reason, "NOAUTH")) << missing.report().reason;

  CacheFactory right(redis_config("redis://:right-pass-9@" + host + "/0"));
  EXPECT_EQ(right.create()->backend(), "redis") << right.report().reason;
}

TEST(CacheFactory, ServerRefusingWritesFallsBack) {
  REQUIRE_REDIS();
  cachet::test::RedisServer server;
  ASSERT_EQ(server.command({"CONFIG", "SET", "maxmemory-policy", "noeviction"}), "OK");
  ASSERT_EQ(server.command({"CONFIG", "SET", "maxmemory", "1"}), "OK");
  CacheFactory f(redis_config(server.url()));
  auto cache = f.create();
  EXPECT_EQ(cache->backend(), "simple");
  EXPECT_TRUE(contains(f.report().reason, "OOM")) << f.report().reason;
}

TEST(CacheFactory, NoneModeThrowsBackendError) {
  const int port = cachet::test::free_loopback_port();
  CacheFactory f(redis_config("redis://127.0.0.1:" + std::to_string(port) + "/0", {{"CACHE_FALLBACK", "none"}}));
  try {
    f.create();
    ADD_FAILURE() << "create() did not throw in none mode";
  } catch (const cachet::BackendError& e) {
    EXPECT_EQ(e.kind(), cachet::ErrorKind::connection);
    EXPECT_TRUE(contains(lower(e.what()), "refused")) << e.what();
    EXPECT_TRUE(contains(e.what(), "CACHE_FALLBACK=none")) << e.what();
  }
  // The report is filled before the throw.
  EXPECT_EQ(f.report().requested, "redis");
  EXPECT_EQ(f.report().backend, "");
  EXPECT_FALSE(f.report().fell_back);
  EXPECT_EQ(f.report().fallback, FallbackMode::none);
  EXPECT_TRUE(contains(lower(f.report().reason), "refused"));
}

TEST(CacheFactory, NoneModeWithLiveRedisGivesRedis) {
  REQUIRE_REDIS();
  cachet::test::RedisServer server;
  CacheFactory f(redis_config(server.url(), {{"CACHE_FALLBACK", "none"}}));
  EXPECT_EQ(f.create()->backend(), "redis");
  EXPECT_FALSE(f.report().fell_back);
}

TEST(CacheFactory, RuntimeModeIsTheDefault) {
  EXPECT_EQ(CacheConfig{}.fallback, FallbackMode::runtime);
  EXPECT_EQ(CacheConfig::from_map({}).fallback, FallbackMode::runtime);
  // Runtime mode only matters for redis: other types build as usual.
  CacheFactory simple(CacheConfig::from_map({{"CACHE_FALLBACK", "runtime"}}));
  EXPECT_EQ(simple.create()->backend(), "simple");
  EXPECT_FALSE(simple.report().fell_back);
}

TEST(CacheFactory, RuntimeModeWithLiveRedisWrapsRedis) {
  REQUIRE_REDIS();
  cachet::test::RedisServer server;
  const auto config = redis_config(server.url(), {{"CACHE_FALLBACK", "runtime"}});
  CacheFactory f(config);
  LogCapture log;
  auto cache = f.create();
  ASSERT_NE(cache, nullptr);
  EXPECT_EQ(cache->backend(), "fallback");
  const auto& r = f.report();
  EXPECT_EQ(r.requested, "redis");
  EXPECT_EQ(r.backend, "fallback");
  EXPECT_FALSE(r.fell_back);
  EXPECT_EQ(r.reason, "");
  EXPECT_EQ(r.fallback, FallbackMode::runtime);
  EXPECT_GE(r.probe_time, 1ms);  // the probe still runs
  auto* wrapper = dynamic_cast<cachet::FallbackCache*>(cache.get());
  ASSERT_NE(wrapper, nullptr);
  EXPECT_EQ(wrapper->state(), cachet::BreakerState::closed);
  // Writes go to Redis, under the configured prefix.
  EXPECT_TRUE(cache->set("k", "v"));
  EXPECT_EQ(server.command({"GET", config.key_prefix + "k"}), "v");
  EXPECT_EQ(server.dbsize(), 1);  // and the probe key is gone
  EXPECT_EQ(log.text(), "");
}

TEST(CacheFactory, RuntimeModeWithRedisDownStartsOnMemoryAndMovesToRedis) {
  REQUIRE_REDIS();
  const int port = cachet::test::free_loopback_port();
  const auto config = redis_config("redis://127.0.0.1:" + std::to_string(port) + "/0",
                                   {{"CACHE_FALLBACK", "runtime"}, {"CACHE_BREAKER_COOLDOWN", "100ms"}});
  CacheFactory f(config);
  LogCapture log;
  auto cache = f.create();
  ASSERT_NE(cache, nullptr);
  const auto& r = f.report();
  EXPECT_EQ(r.backend, "fallback");
  EXPECT_TRUE(r.fell_back);
  EXPECT_TRUE(contains(lower(r.reason), "refused")) << r.reason;
  EXPECT_TRUE(contains(r.to_string(), "fallback=runtime")) << r.to_string();
  auto* wrapper = dynamic_cast<cachet::FallbackCache*>(cache.get());
  ASSERT_NE(wrapper, nullptr);
  EXPECT_NE(wrapper->state(), cachet::BreakerState::closed);
  EXPECT_EQ(count_of(log.text(), "CACHE_FALLBACK=runtime"), 1u) << log.text();

  // Served from memory meanwhile, and quickly (no connect attempt per call).
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_TRUE(cache->set("early", "1"));
  EXPECT_EQ(cache->get("early"), std::optional<std::string>("1"));
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 1s);

  // Redis appears on the configured port: the wrapper moves to it by itself
  // and replays the write made during the outage.
  cachet::test::RedisServer::Options so;
  so.port = port;
  cachet::test::RedisServer server(so);
  const auto deadline = std::chrono::steady_clock::now() + 15s;
  while (wrapper->state() != cachet::BreakerState::closed && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(20ms);
  }
  ASSERT_EQ(wrapper->state(), cachet::BreakerState::closed);
  EXPECT_EQ(server.command({"GET", config.key_prefix + "early"}), "1");
  EXPECT_EQ(cache->get("early"), std::optional<std::string>("1"));
}

TEST(CacheFactory, RuntimeModeBreakerSettingsReachTheWrapper) {
  REQUIRE_REDIS();
  // A threshold of 1 opens the breaker on the first failure after the server dies.
  cachet::test::RedisServer server;
  auto config = redis_config(server.url(), {{"CACHE_FALLBACK", "runtime"},
                                            {"CACHE_BREAKER_THRESHOLD", "1"},
                                            {"CACHE_BREAKER_COOLDOWN", "90s"}});
  CacheFactory f(config);
  auto cache = f.create();
  auto* wrapper = dynamic_cast<cachet::FallbackCache*>(cache.get());
  ASSERT_NE(wrapper, nullptr);
  ASSERT_EQ(wrapper->state(), cachet::BreakerState::closed);
  server.kill();
  cache->get("a");  // fails against Redis, served by memory
  EXPECT_EQ(wrapper->state(), cachet::BreakerState::open);
  // A cooldown of 90 s (above the default 60 s cap) is honoured: no probe
  // closes the breaker even after Redis is back.
  server.start();
  std::this_thread::sleep_for(300ms);
  EXPECT_EQ(wrapper->state(), cachet::BreakerState::open);
  EXPECT_EQ(wrapper->breaker().trips, 1u);
}

TEST(CacheFactory, ProductionRule) {
  CacheConfig c;
  c.type = cachet::CacheType::redis;
  c.environment = "production";
  try {
    CacheFactory f(c);
    ADD_FAILURE() << "CacheFactory accepted redis in production without REDIS_URL";
  } catch (const cachet::ConfigError& e) {
    EXPECT_STREQ(e.what(), "REDIS_URL must be set when CACHE_TYPE=redis in production");
  }
  try {
    cachet::create_cache(c);
    ADD_FAILURE() << "create_cache accepted redis in production without REDIS_URL";
  } catch (const cachet::ConfigError& e) {
    EXPECT_STREQ(e.what(), "REDIS_URL must be set when CACHE_TYPE=redis in production");
  }
}

TEST(CacheFactory, ConvenienceFunctions) {
  REQUIRE_REDIS();
  cachet::test::RedisServer server;
  auto cache = cachet::create_cache(redis_config(server.url()));
  EXPECT_EQ(cache->backend(), "redis");

  // create_cache_with_fallback never throws for an unreachable Redis, even in none mode.
  const int port = cachet::test::free_loopback_port();
  cachet::FactoryReport report;
  auto fallback = cachet::create_cache_with_fallback(
      redis_config("redis://127.0.0.1:" + std::to_string(port) + "/0", {{"CACHE_FALLBACK", "none"}}), &report);
  EXPECT_EQ(fallback->backend(), "simple");
  EXPECT_TRUE(report.fell_back);
  EXPECT_EQ(report.fallback, FallbackMode::startup);
  EXPECT_TRUE(contains(report.to_string(), "fell_back=yes")) << report.to_string();
  EXPECT_TRUE(contains(report.to_string(), "requested=redis backend=simple")) << report.to_string();

  EXPECT_THROW(cachet::create_cache(redis_config("redis://127.0.0.1:" + std::to_string(port) + "/0",
                                                 {{"CACHE_FALLBACK", "none"}})),
               cachet::BackendError);
}

// rediss:// through create_cache: the probe connects over TLS and reports the
// session; the harness's server certificate is valid for 2 days, so the probe
// warns that it expires within 14 days (and logs it).
TEST(CacheFactory, TlsUrlWorksAndTheProbeReportsTheSession) {
  REQUIRE_REDIS();
  using cachet::test::TlsServerKind;
  const auto& certs = cachet::test::TlsCerts::shared();
  auto& server = cachet::test::tls_server(TlsServerKind::basic);
  const std::string url =
      "rediss://localhost:" + std::to_string(server.port()) + "/0?ssl_ca_certs=" + certs.ca_cert;
  LogCapture log;
  const auto config = redis_config(url, {{"CACHE_FALLBACK", "none"}});
  CacheFactory factory(config);
  auto cache = factory.create();
  EXPECT_EQ(cache->backend(), "redis");
  EXPECT_TRUE(cache->set("k", "over tls"));
  EXPECT_EQ(cache->get("k"), std::optional<std::string>("over tls"));

  const auto& r = factory.report();
  EXPECT_FALSE(r.fell_back);
  ASSERT_TRUE(r.tls.has_value()) << r.to_string();
  EXPECT_EQ(r.tls->version.rfind("TLSv1.", 0), 0u) << r.tls->version;
  EXPECT_FALSE(r.tls->cipher.empty());
  EXPECT_EQ(r.tls->peer_subject, "CN=localhost");
  EXPECT_EQ(r.tls->peer_issuer, "CN=cachet test CA");
  const auto left = r.tls->peer_not_after - std::chrono::system_clock::now();
  EXPECT_GT(left, std::chrono::hours(24));
  EXPECT_LT(left, std::chrono::hours(49));
  ASSERT_EQ(r.warnings.size(), 1u) << r.to_string();
  EXPECT_TRUE(contains(r.warnings[0], "CN=localhost expires on ")) << r.warnings[0];
  EXPECT_TRUE(contains(r.warnings[0], ", in 1 day; renew it")) << r.warnings[0];
  EXPECT_EQ(count_of(log.text(), "expires on"), 1u) << log.text();
  const std::string line = r.to_string();
  EXPECT_TRUE(contains(line, "tls=\"" + r.tls->version + ", " + r.tls->cipher + "; server certificate CN=localhost"))
      << line;
  EXPECT_TRUE(contains(line, "valid until ")) << line;
  EXPECT_TRUE(contains(line, "warning=\"the Redis server's TLS certificate")) << line;

  // The same through create_cache(), and over plain TCP there is no TLS report.
  EXPECT_EQ(cachet::create_cache(config)->backend(), "redis");
  cachet::test::RedisServer plain;
  CacheFactory plain_factory(redis_config(plain.url()));
  plain_factory.create();
  EXPECT_FALSE(plain_factory.report().tls.has_value());
  EXPECT_TRUE(plain_factory.report().warnings.empty());
}

// A TLS failure's message reaches the report's reason in the fallback modes,
// and the exception of CACHE_FALLBACK=none.
TEST(CacheFactory, TlsFailuresReachTheReasonAndTheException) {
  REQUIRE_REDIS();
  using cachet::test::TlsServerKind;
  const auto& certs = cachet::test::TlsCerts::shared();
  auto& server = cachet::test::tls_server(TlsServerKind::basic);
  const std::string wrong_ca =
      "rediss://localhost:" + std::to_string(server.port()) + "/0?ssl_ca_certs=" + certs.other_ca_cert;
  for (const char* mode : {"startup", "runtime"}) {
    SCOPED_TRACE(mode);
    CacheFactory factory(redis_config(wrong_ca, {{"CACHE_FALLBACK", mode}}));
    auto cache = factory.create();
    const auto& r = factory.report();
    EXPECT_TRUE(r.fell_back);
    EXPECT_TRUE(contains(r.reason, "certificate")) << r.reason;
    EXPECT_TRUE(contains(r.reason, "not trusted")) << r.reason;
    EXPECT_FALSE(r.tls.has_value());
  }
  CacheFactory strict(redis_config(wrong_ca, {{"CACHE_FALLBACK", "none"}}));
  try {
    strict.create();
    ADD_FAILURE() << "no BackendError";
  } catch (const cachet::BackendError& e) {
    EXPECT_EQ(e.kind(), cachet::ErrorKind::tls);
    EXPECT_TRUE(contains(e.what(), "not trusted")) << e.what();
    EXPECT_TRUE(contains(e.what(), "CACHE_FALLBACK=none")) << e.what();
  }
  EXPECT_TRUE(contains(strict.report().reason, "not trusted")) << strict.report().reason;

  // A plaintext URL to the TLS port says so.
  CacheFactory plaintext(redis_config("redis://localhost:" + std::to_string(server.port()) + "/0"));
  plaintext.create();
  EXPECT_TRUE(contains(plaintext.report().reason, "TLS")) << plaintext.report().reason;
}

// With verification off, an expired certificate is accepted, and the probe
// says that it has expired.
TEST(CacheFactory, ExpiredCertificateAcceptedWithoutVerificationIsReported) {
  REQUIRE_REDIS();
  auto& server = cachet::test::tls_server(cachet::test::TlsServerKind::expired);
  CacheFactory factory(redis_config(
      "rediss://localhost:" + std::to_string(server.port()) + "/0?ssl_cert_reqs=none", {{"CACHE_FALLBACK", "none"}}));
  auto cache = factory.create();
  const auto& r = factory.report();
  EXPECT_EQ(r.backend, "redis");
  ASSERT_EQ(r.warnings.size(), 1u) << r.to_string();
  EXPECT_TRUE(contains(r.warnings[0], "expired on ")) << r.warnings[0];
}
