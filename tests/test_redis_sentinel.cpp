// RedisCache over a real Sentinel set (1 master + 1 replica + 3 sentinels on
// loopback, with sentinel authentication, started once for this binary): the
// conformance suite through the factory from a redis+sentinel:// URL, a
// failover by SENTINEL FAILOVER and one by a killed master under writes, and
// the failures a probe must name (unknown master, sentinels down, no
// sentinel password).
#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include "cachet/cachet.hpp"
#include "support/conformance.hpp"
#include "support/net.hpp"
#include "support/redis_sentinel.hpp"
#include "support/sentinel_failover.hpp"

using cachet::CacheConfig;
using cachet::ErrorPolicy;
using cachet::RedisCache;
using cachet::RedisOptions;
using cachet::Ttl;
using cachet::test::RedisSentinelSet;
using cachet::test::check_failover;
using cachet::test::RedisServer;
using cachet::test::shared_sentinels;
using cachet::test::unique_prefix;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace {

std::unique_ptr<RedisCache> direct(const std::string& url, ErrorPolicy policy = ErrorPolicy::FailOpen) {
  auto o = RedisOptions::from_url(url);
  o.key_prefix = unique_prefix();
  o.on_error = policy;
  o.default_timeout = Ttl::never();
  return std::make_unique<RedisCache>(o);
}

}  // namespace

// ---- the shared conformance suite, through the factory ----------------------

struct SentinelFixture {
  static std::unique_ptr<cachet::Cache> make(Ttl default_timeout) {
    if (!cachet::test::redis_server_available()) {
      if (!cachet::test::skip_redis_tests_requested()) ADD_FAILURE() << "redis-server not found";
      return nullptr;
    }
    return cachet::create_cache(CacheConfig::from_map(
        {{"CACHE_TYPE", "redis"},
         {"REDIS_URL", shared_sentinels().url()},
         {"CACHE_KEY_PREFIX", unique_prefix()},
         {"CACHE_DEFAULT_TIMEOUT",
          default_timeout.is_never() ? "0" : std::to_string(default_timeout.duration().count()) + "ms"},
         {"CACHE_FALLBACK", "none"}}));
  }
};

using SentinelFixtures = ::testing::Types<SentinelFixture>;
INSTANTIATE_TYPED_TEST_SUITE_P(Sentinel, CacheConformance, SentinelFixtures);

// ---- Sentinel-specific -------------------------------------------------------

class RedisSentinelTest : public ::testing::Test {
 protected:
  void SetUp() override { REQUIRE_REDIS(); }
};

TEST_F(RedisSentinelTest, WritesLandOnTheMasterTheSentinelsName) {
  auto& set = shared_sentinels();
  auto cache = direct(set.url(), ErrorPolicy::Throw);
  ASSERT_TRUE(cache->set("k", "v"));
  EXPECT_EQ(set.master().command({"GET", cache->options().key_prefix + "k"}), "v");
  EXPECT_TRUE(cache->ping());
}

TEST_F(RedisSentinelTest, FailoverBySentinelCommandIsFollowed) {
  check_failover(shared_sentinels(), shared_sentinels().url(), [](RedisServer&) {
    auto& s = *shared_sentinels().sentinels().front();
    ASSERT_EQ(s.command({"SENTINEL", "FAILOVER", RedisSentinelSet::kMaster}), "OK");
  });
}

TEST_F(RedisSentinelTest, KilledMasterIsReplacedWithinTheWindow) {
  check_failover(shared_sentinels(), shared_sentinels().url(), [](RedisServer& old_master) { old_master.kill(); });
}

TEST_F(RedisSentinelTest, AnUnknownMasterIsAProbeFailureNamingIt) {
  auto& set = shared_sentinels();
  std::string url = set.url();
  url.replace(url.find("/mymaster"), 9, "/nosuchmaster");
  const auto config = CacheConfig::from_map({{"CACHE_TYPE", "redis"}, {"REDIS_URL", url}});
  cachet::FactoryReport report;
  auto cache = cachet::create_cache_with_fallback(config, &report);
  EXPECT_TRUE(report.fell_back);
  EXPECT_NE(report.reason.find("nosuchmaster"), std::string::npos) << report.reason;
  EXPECT_EQ(report.reason.find(RedisSentinelSet::kPassword), std::string::npos) << report.reason;
  EXPECT_TRUE(cache->set("k", "v"));
  EXPECT_EQ(cache->get("k"), std::optional<std::string>("v"));
}

TEST_F(RedisSentinelTest, SentinelsAllDownIsAProbeFailureNamingThem) {
  const int a = cachet::test::free_loopback_port();
  const int b = cachet::test::free_loopback_port();
  const std::string url =
      "redis+sentinel://127.0.0.1:" + std::to_string(a) + ",127.0.0.1:" + std::to_string(b) + "/mymaster";
  const auto start = Clock::now();
  cachet::FactoryReport report;
  auto cache = cachet::create_cache_with_fallback(
      CacheConfig::from_map({{"CACHE_TYPE", "redis"}, {"REDIS_URL", url}}), &report);
  EXPECT_LT(Clock::now() - start, 2s);
  EXPECT_TRUE(report.fell_back);
  EXPECT_NE(report.reason.find(std::to_string(a)), std::string::npos) << report.reason;
  EXPECT_NE(report.reason.find(std::to_string(b)), std::string::npos) << report.reason;
  EXPECT_TRUE(cache->set("k", "v"));
}

TEST_F(RedisSentinelTest, SentinelsRefuseAClientWithoutTheirPassword) {
  std::string url = shared_sentinels().url();
  url = url.substr(0, url.find('?'));
  auto cache = direct(url, ErrorPolicy::Throw);
  try {
    cache->get("k");
    ADD_FAILURE() << "no BackendError";
  } catch (const cachet::BackendError& e) {
    EXPECT_EQ(e.cause(), cachet::ErrorCause::auth) << e.what();
    EXPECT_NE(std::string(e.what()).find("mymaster"), std::string::npos) << e.what();
  }
}
