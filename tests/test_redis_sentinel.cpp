// RedisCache over a real Sentinel set (1 master + 1 replica + 3 sentinels on
// loopback, with sentinel authentication, started once for this binary): the
// conformance suite through the factory from a redis+sentinel:// URL, a
// failover by SENTINEL FAILOVER and one by a killed master under writes, and
// the failures a probe must name (unknown master, sentinels down, no
// sentinel password).
#include <gtest/gtest.h>
#include <spdlog/sinks/base_sink.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "cachet/cachet.hpp"
#include "support/conformance.hpp"
#include "support/net.hpp"
#include "support/redis_sentinel.hpp"

using cachet::CacheConfig;
using cachet::ErrorPolicy;
using cachet::RedisCache;
using cachet::RedisOptions;
using cachet::Ttl;
using cachet::test::RedisSentinelSet;
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

struct Write {
  int n;
  Clock::time_point issued;
};

// Writes k<n> = n as fast as it can, remembering every acknowledged write.
class Writer {
 public:
  explicit Writer(RedisCache& cache) : thread_([this, &cache] {
      for (int n = 0; !stop_; ++n) {
        const auto issued = Clock::now();
        if (cache.set("k" + std::to_string(n), std::to_string(n))) {
          std::lock_guard<std::mutex> lock(mu_);
          acked_.push_back({n, issued});
        }
        std::this_thread::sleep_for(1ms);
      }
    }) {}
  ~Writer() { stop(); }
  void stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }
  std::vector<Write> acked() {
    std::lock_guard<std::mutex> lock(mu_);
    return acked_;
  }

 private:
  std::atomic<bool> stop_{false};
  std::mutex mu_;
  std::vector<Write> acked_;
  std::thread thread_;
};

// Remembers when the cache logged that it moved to a new master.
class SwitchSink final : public spdlog::sinks::base_sink<std::mutex> {
 public:
  Clock::time_point switched() {
    std::lock_guard<std::mutex> lock(mutex_);
    return switched_;
  }

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    const std::string text(msg.payload.data(), msg.payload.size());
    if (text.find("is now") != std::string::npos && switched_ == Clock::time_point{}) switched_ = Clock::now();
  }
  void flush_() override {}

 private:
  Clock::time_point switched_{};
};

// Runs `failover`, then checks: the client's writes reach the new master
// within 2 s of the promotion, and every write acknowledged from then on is on
// the new master.
void check_failover(const std::function<void(RedisServer& old_master)>& failover) {
  auto sink = std::make_shared<SwitchSink>();
  auto logger = std::make_shared<spdlog::logger>("sentinel-switch", sink);
  logger->set_level(spdlog::level::trace);
  cachet::set_logger(logger);
  struct Restore {
    ~Restore() { cachet::set_logger(nullptr); }
  } restore;
  auto& set = shared_sentinels();
  auto cache = direct(set.url());
  const std::string prefix = cache->options().key_prefix;
  RedisServer& old_master = set.master();
  RedisServer& new_master = set.replica();
  Writer writer(*cache);
  std::this_thread::sleep_for(300ms);
  failover(old_master);
  Clock::time_point promoted{};
  for (const auto start = Clock::now(); Clock::now() - start < 20s; std::this_thread::sleep_for(5ms)) {
    try {
      if (new_master.command({"ROLE"}).rfind("master", 0) == 0) {
        promoted = Clock::now();
        break;
      }
    } catch (const std::exception&) {
    }
  }
  ASSERT_NE(promoted, Clock::time_point{}) << "no promotion within 20 s";
  std::this_thread::sleep_for(2500ms);
  writer.stop();

  // The client switched when it logged the new master (until the sentinels
  // announce the switch, the old master may still accept writes; those are
  // lost when it is demoted, as with any client).
  const auto switched_at = sink->switched();
  ASSERT_NE(switched_at, Clock::time_point{}) << "the cache never moved to the new master";
  const auto switched = std::chrono::duration_cast<std::chrono::milliseconds>(switched_at - promoted);
  std::printf("sentinel failover: the client switched %lld ms after the promotion\n",
              static_cast<long long>(switched.count()));
  EXPECT_LE(switched, 2s);
  int lost = 0, after = 0;
  for (const auto& w : writer.acked()) {
    if (w.issued < switched_at) continue;
    ++after;
    if (new_master.command({"GET", prefix + "k" + std::to_string(w.n)}) != std::to_string(w.n)) ++lost;
  }
  EXPECT_GT(after, 100);
  EXPECT_EQ(lost, 0) << "writes acknowledged after the client switched, then lost";
  if (!old_master.running()) old_master.start();  // the sentinels make it a replica
  ASSERT_TRUE(set.wait_stable());
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
  check_failover([](RedisServer&) {
    auto& s = *shared_sentinels().sentinels().front();
    ASSERT_EQ(s.command({"SENTINEL", "FAILOVER", RedisSentinelSet::kMaster}), "OK");
  });
}

TEST_F(RedisSentinelTest, KilledMasterIsReplacedWithinTheWindow) {
  check_failover([](RedisServer& old_master) { old_master.kill(); });
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
