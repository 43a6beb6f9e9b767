// RedisCache over a real Sentinel set in which the data nodes and the
// sentinels serve TLS only (1 master + 1 replica + 3 sentinels on loopback,
// with tls-replication and sentinel authentication, started once for this
// binary), through rediss+sentinel:// URLs trusting the harness's throw-away
// CA: the conformance suite through the factory, the TLS session in the
// probe's report, the master resolved through the sentinels, the
// +switch-master subscriber on a TLS connection, a SENTINEL FAILOVER
// followed, and a plaintext redis+sentinel:// URL refused with a reason that
// names TLS.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <thread>

#include "cachet/cachet.hpp"
#include "support/conformance.hpp"
#include "support/redis_sentinel.hpp"
#include "support/sentinel_failover.hpp"
#include "support/tls_certs.hpp"

using cachet::CacheConfig;
using cachet::Ttl;
using cachet::test::RedisSentinelSet;
using cachet::test::RedisServer;
using cachet::test::shared_tls_sentinels;
using cachet::test::unique_prefix;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace {

// The set's rediss+sentinel:// URL with ssl_ca_certs: the one CA reaches the
// sentinels and the data nodes.
std::string tls_url() {
  return shared_tls_sentinels().url() + "&ssl_ca_certs=" + cachet::test::TlsCerts::shared().ca_cert;
}

bool tools_missing() { return !cachet::test::redis_server_available() || !cachet::test::openssl_available(); }

#define REQUIRE_TLS_SENTINELS()                                                                        \
  do {                                                                                                 \
    if (tools_missing()) {                                                                             \
      if (cachet::test::skip_redis_tests_requested()) GTEST_SKIP() << "redis-server/openssl missing";  \
      FAIL() << "redis-server or openssl not found; ./tests/run installs them";                        \
    }                                                                                                  \
  } while (0)

}  // namespace

// ---- the shared conformance suite, through the factory ----------------------

struct TlsSentinelFixture {
  static std::unique_ptr<cachet::Cache> make(Ttl default_timeout) {
    if (tools_missing()) {
      if (!cachet::test::skip_redis_tests_requested()) ADD_FAILURE() << "redis-server or openssl not found";
      return nullptr;
    }
    return cachet::create_cache(CacheConfig::from_map(
        {{"CACHE_TYPE", "redis"},
         {"REDIS_URL", tls_url()},
         {"CACHE_KEY_PREFIX", unique_prefix()},
         {"CACHE_DEFAULT_TIMEOUT",
          default_timeout.is_never() ? "0" : std::to_string(default_timeout.duration().count()) + "ms"},
         {"CACHE_FALLBACK", "none"}}));
  }
};

using TlsSentinelFixtures = ::testing::Types<TlsSentinelFixture>;
INSTANTIATE_TYPED_TEST_SUITE_P(TlsSentinel, CacheConformance, TlsSentinelFixtures);

// ---- Sentinel over TLS -------------------------------------------------------

class RedisSentinelTlsTest : public ::testing::Test {
 protected:
  void SetUp() override { REQUIRE_TLS_SENTINELS(); }
};

// The sentinels are reached over TLS (their plain port is 0), name the
// master's TLS port, and the probe reports the master's TLS session.
TEST_F(RedisSentinelTlsTest, FactoryResolvesTheMasterThroughTlsSentinels) {
  auto& set = shared_tls_sentinels();
  const std::string url = tls_url();
  ASSERT_EQ(url.rfind("rediss+sentinel://", 0), 0u) << url;
  const std::string prefix = unique_prefix();
  cachet::CacheFactory factory(CacheConfig::from_map(
      {{"CACHE_TYPE", "redis"}, {"REDIS_URL", url}, {"CACHE_KEY_PREFIX", prefix}, {"CACHE_FALLBACK", "none"}}));
  auto cache = factory.create();
  EXPECT_EQ(cache->backend(), "redis");
  EXPECT_FALSE(factory.report().fell_back) << factory.report().to_string();
  ASSERT_TRUE(factory.report().tls.has_value()) << factory.report().to_string();
  EXPECT_EQ(factory.report().tls->peer_subject, "CN=localhost");
  EXPECT_EQ(factory.report().tls->peer_issuer, "CN=cachet test CA");
  EXPECT_EQ(factory.report().target.find(RedisSentinelSet::kPassword), std::string::npos) << factory.report().target;

  ASSERT_TRUE(cache->set("k", "v"));
  EXPECT_EQ(set.master().command({"GET", prefix + "k"}), "v");
  EXPECT_EQ(cache->get("k"), std::optional<std::string>("v"));
  EXPECT_TRUE(cache->ping());
}

// The +switch-master subscriber holds a TCP connection, hence a TLS one, to
// a sentinel: it is the only client subscribed there (sentinels subscribe to
// the data nodes' hello channel, not to each other).
TEST_F(RedisSentinelTlsTest, SwitchMasterSubscriberListensOverTls) {
  auto& set = shared_tls_sentinels();
  auto cache = cachet::create_cache(CacheConfig::from_map(
      {{"CACHE_TYPE", "redis"}, {"REDIS_URL", tls_url()}, {"CACHE_KEY_PREFIX", unique_prefix()},
       {"CACHE_FALLBACK", "none"}}));
  ASSERT_TRUE(cache->set("k", "v"));  // resolves the master, which starts the subscriber
  std::string seen;
  for (const auto start = Clock::now(); seen.empty() && Clock::now() - start < 2s; std::this_thread::sleep_for(20ms)) {
    for (const auto& s : set.sentinels()) {
      std::istringstream clients(s->command({"CLIENT", "LIST"}));
      for (std::string line; std::getline(clients, line);) {
        if (line.find(" sub=1 ") != std::string::npos && line.find("addr=127.0.0.1:") != std::string::npos &&
            line.find("cmd=subscribe") != std::string::npos) {
          seen = line;
        }
      }
    }
  }
  EXPECT_FALSE(seen.empty()) << "no sentinel lists a TCP client subscribed to +switch-master";
}

TEST_F(RedisSentinelTlsTest, FailoverBySentinelCommandIsFollowed) {
  auto& set = shared_tls_sentinels();
  cachet::test::check_failover(set, tls_url(), [&set](RedisServer&) {
    ASSERT_EQ(set.sentinels().front()->command({"SENTINEL", "FAILOVER", RedisSentinelSet::kMaster}), "OK");
  });
}

// A plaintext URL against the TLS sentinels: the probe fails within the
// timeouts (each sentinel costs at most its AUTH exchange and one TLS check,
// each bounded by connect_timeout, 250 ms by default) and says why.
TEST_F(RedisSentinelTlsTest, PlaintextSentinelUrlIsRefusedNamingTls) {
  auto& set = shared_tls_sentinels();
  std::string url = set.url();
  url.erase(5, 1);  // rediss+sentinel:// -> redis+sentinel://
  ASSERT_EQ(url.rfind("redis+sentinel://", 0), 0u) << url;
  const auto start = Clock::now();
  cachet::FactoryReport report;
  auto cache = cachet::create_cache_with_fallback(
      CacheConfig::from_map({{"CACHE_TYPE", "redis"}, {"REDIS_URL", url}}), &report);
  const auto elapsed = Clock::now() - start;
  EXPECT_LT(elapsed, 2s);
  EXPECT_TRUE(report.fell_back);
  EXPECT_NE(report.reason.find("TLS"), std::string::npos) << report.reason;
  EXPECT_NE(report.reason.find(std::to_string(set.sentinels().front()->port())), std::string::npos) << report.reason;
  EXPECT_EQ(report.reason.find(RedisSentinelSet::kPassword), std::string::npos) << report.reason;
  std::printf("plaintext against TLS sentinels: %lld ms: %s\n",
              static_cast<long long>(std::chrono::duration_cast<std::chrono::milliseconds>(elapsed).count()),
              report.reason.c_str());
  EXPECT_TRUE(cache->set("k", "v"));  // the runtime fallback serves from memory
}
