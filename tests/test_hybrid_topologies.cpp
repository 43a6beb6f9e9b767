// HybridCache over Redis Cluster (3 masters + 3 replicas) and Sentinel (1
// master + 1 replica + 3 sentinels), built by the factory from their URLs:
// one invalidation channel per master, so a write on any node, by anyone,
// reaches every process's L1; after a failover the channel moves to the
// promoted node and L1 is used again, still coherent.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "cachet/cachet.hpp"
#include "support/conformance.hpp"
#include "support/redis_cluster.hpp"
#include "support/redis_sentinel.hpp"

using cachet::CacheConfig;
using cachet::FactoryReport;
using cachet::HybridCache;
using cachet::test::RedisServer;
using cachet::test::RedisSentinelSet;
using cachet::test::shared_cluster;
using cachet::test::shared_sentinels;
using cachet::test::unique_prefix;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace {

// How long a change may take to reach an L1: the heartbeat (200 ms) plus
// slack for a loaded or sanitized build (the bound itself is tested in
// test_hybrid_cache).
constexpr auto kWindow = 3000ms;

#define REQUIRE_TOOLS()                                                                                  \
  do {                                                                                                   \
    if (!cachet::test::redis_server_available() || !cachet::test::redis_cli_available()) {              \
      if (cachet::test::skip_redis_tests_requested()) GTEST_SKIP() << "redis-server/redis-cli missing"; \
      FAIL() << "redis-server or redis-cli not found; ./tests/run installs them";                       \
    }                                                                                                    \
  } while (0)

struct Hybrid {
  std::unique_ptr<cachet::Cache> cache;
  FactoryReport report;
  HybridCache& get() const { return dynamic_cast<HybridCache&>(*cache); }
};

Hybrid make(const std::string& url, const std::string& prefix, const std::string& mode = "bcast") {
  cachet::CacheFactory factory(CacheConfig::from_map({{"CACHE_TYPE", "hybrid"},
                                                       {"REDIS_URL", url},
                                                       {"CACHE_KEY_PREFIX", prefix},
                                                       {"CACHE_DEFAULT_TIMEOUT", "0"},
                                                       {"CACHE_FALLBACK", "none"},
                                                       {"CACHE_L1_INVALIDATION", mode},
                                                       {"CACHE_L1_HEARTBEAT", "200ms"}}));
  Hybrid h;
  h.cache = factory.create();
  h.report = factory.report();
  return h;
}

template <class Pred>
bool eventually(Pred pred, std::chrono::milliseconds limit) {
  const auto deadline = Clock::now() + limit;
  while (Clock::now() < deadline) {
    if (pred()) return true;
    std::this_thread::sleep_for(2ms);
  }
  return pred();
}

bool in_use(const Hybrid& h) { return h.get().hybrid_stats().l1_in_use; }

// `reader` holds `key` in L1 (it read "before"); `write` changes it to
// "after" behind cachet's back; the reader sees "after" within the window and
// the reads before were L1 hits (so the invalidation, not a miss, did it).
// (The echo of the reader's own fill-time write may still be on its way and
// drop the first L1 copy: the reader reads until L1 answers.)
void expect_invalidated(const Hybrid& reader, const std::string& key, const std::function<void()>& write) {
  ASSERT_TRUE(eventually(
      [&] {
        const auto hits = reader.get().hybrid_stats().l1_hits;
        return reader.cache->get(key) == std::optional<std::string>("before") &&
               reader.get().hybrid_stats().l1_hits > hits;
      },
      kWindow))
      << key << ": never served from L1 " << reader.get().hybrid_stats().to_string();
  write();
  EXPECT_TRUE(eventually([&] { return reader.cache->get(key) == std::optional<std::string>("after"); }, kWindow))
      << key << ": L1 still serves the old value " << reader.get().hybrid_stats().to_string();
}

// Cluster: the slot of a full key, as the cluster computes it.
int slot_of(const std::string& full_key) {
  return std::stoi(shared_cluster().masters().front()->command({"CLUSTER", "KEYSLOT", full_key}));
}

}  // namespace

// ---- the shared conformance suite: hybrid over Cluster, through the factory ---

struct HybridClusterFixture {
  static std::unique_ptr<cachet::Cache> make(cachet::Ttl default_timeout) {
    if (!cachet::test::redis_server_available() || !cachet::test::redis_cli_available()) {
      if (!cachet::test::skip_redis_tests_requested()) ADD_FAILURE() << "redis-server or redis-cli not found";
      return nullptr;
    }
    return cachet::create_cache(CacheConfig::from_map(
        {{"CACHE_TYPE", "hybrid"},
         {"REDIS_URL", shared_cluster().url()},
         {"CACHE_KEY_PREFIX", unique_prefix()},
         {"CACHE_DEFAULT_TIMEOUT",
          default_timeout.is_never() ? "0" : std::to_string(default_timeout.duration().count()) + "ms"},
         {"CACHE_FALLBACK", "none"}}));
  }
};

using HybridClusterFixtures = ::testing::Types<HybridClusterFixture>;
INSTANTIATE_TYPED_TEST_SUITE_P(HybridOverCluster, CacheConformance, HybridClusterFixtures);

// ---- Cluster -----------------------------------------------------------------

class HybridClusterTest : public ::testing::Test {
 protected:
  void SetUp() override { REQUIRE_TOOLS(); }
};

TEST_F(HybridClusterTest, EveryMasterHasAChannelAndWritesOnAnyNodeInvalidate) {
  auto& cluster = shared_cluster();
  const std::string prefix = unique_prefix();
  Hybrid a = make(cluster.url(), prefix);
  Hybrid b = make(cluster.url(), prefix);
  EXPECT_EQ(b.report.backend, "hybrid");
  ASSERT_TRUE(eventually([&] { return in_use(a) && in_use(b); }, 5s)) << b.get().hybrid_stats().to_string();
  for (RedisServer* m : cluster.masters()) {
    EXPECT_NE(b.report.coherence.find(std::to_string(m->port())), std::string::npos)
        << "no channel on master " << m->port() << ": " << b.report.coherence;
  }
  EXPECT_EQ(b.get().mode(), cachet::InvalidationMode::bcast);

  // Keys on every master, changed by another cachet process and by a writer
  // outside cachet (a raw command on the owning node).
  std::set<int> masters_seen;
  for (int i = 0; i < 24; ++i) {
    const std::string key = "k" + std::to_string(i);
    RedisServer& owner = cluster.master_of_slot(slot_of(prefix + key));
    masters_seen.insert(owner.port());
    ASSERT_TRUE(a.cache->set(key, "before"));
    if (i % 2 == 0) {
      expect_invalidated(b, key, [&] { ASSERT_TRUE(a.cache->set(key, "after")); });
    } else {
      expect_invalidated(b, key, [&] { ASSERT_EQ(owner.command({"SET", prefix + key, "after"}), "OK"); });
    }
  }
  EXPECT_EQ(masters_seen.size(), 3u);
  EXPECT_EQ(b.get().hybrid_stats().channel_losses, 0u);

  // The probe's end-to-end check writes through the key's owner.
  const auto check = b.get().check_coherence(2s);
  EXPECT_TRUE(check.ok) << check.detail;
}

TEST_F(HybridClusterTest, TrackingIsServedAsBcastAndSaysWhy) {
  auto& cluster = shared_cluster();
  const std::string prefix = unique_prefix();
  Hybrid b = make(cluster.url(), prefix, "tracking");
  ASSERT_TRUE(eventually([&] { return in_use(b); }, 5s));
  EXPECT_EQ(b.get().mode(), cachet::InvalidationMode::bcast);
  EXPECT_NE(b.report.coherence.find("tracking was asked for"), std::string::npos) << b.report.coherence;
  ASSERT_TRUE(b.cache->set("t", "before"));
  RedisServer& owner = cluster.master_of_slot(slot_of(prefix + "t"));
  expect_invalidated(b, "t", [&] { ASSERT_EQ(owner.command({"SET", prefix + "t", "after"}), "OK"); });
}

// One master refuses CLIENT TRACKING (an ACL denies it there only), so its
// channel falls back to pubsub: the set then reports pubsub and publishes this
// process's writes, and another process sees a write of a key on that node.
// The refusing node is not the first master, through which nothing would be
// published while that one is on bcast.
TEST_F(HybridClusterTest, ANodeRefusingTrackingMakesTheSetPublishWrites) {
  auto& cluster = shared_cluster();
  RedisServer& refusing = cluster.master_of_slot(16383);
  ASSERT_NE(&refusing, &cluster.master_of_slot(0)) << "the test needs the last slot off the first master";
  auto on_live_nodes = [&](const std::vector<std::string>& command, RedisServer* except) {
    for (const auto& n : cluster.nodes()) {
      if (n.get() == except) continue;
      try {
        n->command(command);
      } catch (const std::exception&) {  // a node an earlier test killed
      }
    }
  };
  on_live_nodes({"ACL", "SETUSER", "halftrack", "on", ">pw", "~*", "&*", "+@all"}, nullptr);
  refusing.command({"ACL", "SETUSER", "halftrack", "-client|tracking"});
  const std::string prefix = unique_prefix();
  std::string url = cluster.url();
  url.insert(url.find("://") + 3, "halftrack:pw@");
  {
    Hybrid a = make(url, prefix);
    Hybrid b = make(url, prefix);
    ASSERT_TRUE(eventually([&] { return in_use(a) && in_use(b); }, 5s)) << b.get().hybrid_stats().to_string();
    EXPECT_EQ(b.get().mode(), cachet::InvalidationMode::pubsub);
    const std::string reason = b.get().hybrid_stats().mode_reason;
    EXPECT_NE(reason.find("CLIENT TRACKING refused"), std::string::npos) << reason;
    EXPECT_NE(reason.find(std::to_string(refusing.port())), std::string::npos) << reason;

    std::string key;
    for (int i = 0; key.empty(); ++i) {
      const std::string k = "p" + std::to_string(i);
      if (&cluster.master_of_slot(slot_of(prefix + k)) == &refusing) key = k;
    }
    ASSERT_TRUE(a.cache->set(key, "before"));
    expect_invalidated(b, key, [&] { ASSERT_TRUE(a.cache->set(key, "after")); });
  }
  on_live_nodes({"ACL", "DELUSER", "halftrack"}, nullptr);
}

TEST_F(HybridClusterTest, AfterAMasterIsKilledTheChannelMovesToThePromotedReplica) {
  auto& cluster = shared_cluster();
  const std::string prefix = unique_prefix();
  Hybrid b = make(cluster.url(), prefix);
  ASSERT_TRUE(eventually([&] { return in_use(b); }, 5s));
  const int slot = slot_of(prefix + "f");
  RedisServer& victim = cluster.master_of_slot(slot);
  ASSERT_TRUE(b.cache->set("f", "before"));
  ASSERT_EQ(b.cache->get("f"), std::optional<std::string>("before"));

  victim.kill();
  // L1 is bypassed while the node's channel is lost.
  EXPECT_TRUE(eventually([&] { return !in_use(b); }, 3s)) << b.get().hybrid_stats().to_string();
  RedisServer* promoted = nullptr;
  const auto killed = Clock::now();
  while (promoted == nullptr && Clock::now() - killed < 15s) {
    try {
      RedisServer& m = cluster.master_of_slot(slot);
      if (&m != &victim) promoted = &m;
    } catch (const std::exception&) {
    }
    std::this_thread::sleep_for(10ms);
  }
  ASSERT_NE(promoted, nullptr) << "no replica promoted within 15 s";
  const auto promoted_at = Clock::now();
  ASSERT_TRUE(eventually([&] { return in_use(b); }, 5s)) << b.get().hybrid_stats().to_string();
  std::printf("cluster failover: L1 in use again %lld ms after the promotion\n",
              static_cast<long long>(
                  std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - promoted_at).count()));
  EXPECT_NE(b.get().hybrid_stats().mode_reason.find(std::to_string(promoted->port())), std::string::npos)
      << b.get().hybrid_stats().mode_reason;

  // Coherent on the promoted node: a raw write there reaches the L1.
  ASSERT_TRUE(eventually([&] { return b.cache->set("f", "before"); }, 3s));
  expect_invalidated(b, "f", [&] { ASSERT_EQ(promoted->command({"SET", prefix + "f", "after"}), "OK"); });

  victim.start();  // rejoins as a replica
  ASSERT_TRUE(cluster.wait_ok(30s));
}

// ---- Sentinel ----------------------------------------------------------------

class HybridSentinelTest : public ::testing::Test {
 protected:
  void SetUp() override { REQUIRE_TOOLS(); }
};

TEST_F(HybridSentinelTest, TheChannelFollowsTheMasterAcrossAFailover) {
  auto& set = shared_sentinels();
  const std::string prefix = unique_prefix();
  Hybrid a = make(set.url(), prefix);
  Hybrid b = make(set.url(), prefix);
  ASSERT_TRUE(eventually([&] { return in_use(a) && in_use(b); }, 5s)) << b.get().hybrid_stats().to_string();
  RedisServer& old_master = set.master();
  RedisServer& new_master = set.replica();
  EXPECT_NE(b.report.coherence.find(std::to_string(old_master.port())), std::string::npos) << b.report.coherence;

  ASSERT_TRUE(a.cache->set("s", "before"));
  expect_invalidated(b, "s", [&] { ASSERT_EQ(old_master.command({"SET", prefix + "s", "after"}), "OK"); });

  auto& sentinel = *set.sentinels().front();
  ASSERT_EQ(sentinel.command({"SENTINEL", "FAILOVER", RedisSentinelSet::kMaster}), "OK");
  // (The sentinels disconnect clients of the nodes they reconfigure: a
  // command may find its connection closed.)
  ASSERT_TRUE(eventually(
      [&] {
        try {
          return new_master.command({"ROLE"}).rfind("master", 0) == 0;
        } catch (const std::exception&) {
          return false;
        }
      },
      20s))
      << "no promotion within 20 s";
  const auto promoted_at = Clock::now();
  ASSERT_TRUE(eventually(
      [&] {
        return in_use(b) &&
               b.get().hybrid_stats().mode_reason.find(std::to_string(new_master.port())) != std::string::npos;
      },
      5s))
      << b.get().hybrid_stats().to_string();
  std::printf("sentinel failover: the channel on the new master %lld ms after the promotion\n",
              static_cast<long long>(
                  std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - promoted_at).count()));

  // Until A's own topology follows the switch, its writes may still reach the
  // old master and be lost when that is demoted: write until one is on the new one.
  ASSERT_TRUE(eventually(
      [&] {
        try {
          return a.cache->set("s2", "before") && new_master.command({"GET", prefix + "s2"}) == "before";
        } catch (const std::exception&) {
          return false;
        }
      },
      10s));
  expect_invalidated(b, "s2", [&] { ASSERT_EQ(new_master.command({"SET", prefix + "s2", "after"}), "OK"); });
  ASSERT_TRUE(a.cache->set("s", "before"));
  expect_invalidated(b, "s", [&] { ASSERT_TRUE(a.cache->set("s", "after")); });
  ASSERT_TRUE(set.wait_stable());
}
