// RedisCache over a real Redis Cluster (3 masters + 3 replicas on loopback,
// started once for this binary by the harness): the conformance suite through
// the factory from a redis+cluster:// URL, keys spread over every master,
// batches across nodes, hash tags, clear() and ping() on every master, a live
// slot migration (ASK, then MOVED) under traffic, a master killed under
// traffic, and seed nodes that are down.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <algorithm>
#include <map>
#include <sstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "cachet/cachet.hpp"
#include "support/conformance.hpp"
#include "support/net.hpp"
#include "support/redis_cluster.hpp"
#include "support/tls_certs.hpp"

using cachet::CacheConfig;
using cachet::ErrorPolicy;
using cachet::RedisCache;
using cachet::RedisOptions;
using cachet::Ttl;
using cachet::test::RedisServer;
using cachet::test::shared_cluster;
using cachet::test::unique_prefix;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace {

bool cluster_tools_missing() {
  return !cachet::test::redis_server_available() || !cachet::test::redis_cli_available();
}

#define REQUIRE_CLUSTER()                                                                         \
  do {                                                                                             \
    if (cluster_tools_missing()) {                                                                 \
      if (cachet::test::skip_redis_tests_requested()) GTEST_SKIP() << "redis-server/redis-cli missing"; \
      FAIL() << "redis-server or redis-cli not found; ./tests/run installs them";                  \
    }                                                                                              \
  } while (0)

std::string ttl_text(Ttl t) { return t.is_never() ? "0" : std::to_string(t.duration().count()) + "ms"; }

// A cache built by the factory from the cluster's URL.
std::unique_ptr<cachet::Cache> from_factory(const std::string& url, Ttl default_timeout, const std::string& fallback,
                                            const std::string& prefix = unique_prefix()) {
  return cachet::create_cache(CacheConfig::from_map({{"CACHE_TYPE", "redis"},
                                                     {"REDIS_URL", url},
                                                     {"CACHE_KEY_PREFIX", prefix},
                                                     {"CACHE_DEFAULT_TIMEOUT", ttl_text(default_timeout)},
                                                     {"CACHE_FALLBACK", fallback},
                                                     {"CACHE_BREAKER_COOLDOWN", "200ms"}}));
}

std::unique_ptr<RedisCache> direct(const std::string& prefix, ErrorPolicy policy = ErrorPolicy::Throw) {
  auto o = RedisOptions::from_url(shared_cluster().url());
  o.key_prefix = prefix;
  o.on_error = policy;
  o.default_timeout = Ttl::never();
  return std::make_unique<RedisCache>(o);
}

// Keys under `prefix` stored on `node` (KEYS: test data only, small).
std::size_t keys_on(const RedisServer& node, const std::string& prefix) {
  const std::string out = node.command({"KEYS", prefix + "*"});
  if (out.empty()) return 0;
  return static_cast<std::size_t>(std::count(out.begin(), out.end(), '\n')) + 1;
}

// The slot the cluster itself computes for a full key.
int slot_of(const std::string& full_key) {
  return std::stoi(shared_cluster().masters().front()->command({"CLUSTER", "KEYSLOT", full_key}));
}

}  // namespace

// ---- the shared conformance suite, through the factory ----------------------

struct ClusterFixture {
  static std::unique_ptr<cachet::Cache> make(Ttl default_timeout) {
    if (cluster_tools_missing()) {
      if (!cachet::test::skip_redis_tests_requested()) ADD_FAILURE() << "redis-server or redis-cli not found";
      return nullptr;
    }
    return from_factory(shared_cluster().url(), default_timeout, "none");
  }
};

using ClusterFixtures = ::testing::Types<ClusterFixture>;
INSTANTIATE_TYPED_TEST_SUITE_P(Cluster, CacheConformance, ClusterFixtures);

// ---- Cluster-specific --------------------------------------------------------

class RedisClusterTest : public ::testing::Test {
 protected:
  void SetUp() override { REQUIRE_CLUSTER(); }
};

TEST_F(RedisClusterTest, KeysSpreadOverEveryMaster) {
  const std::string prefix = unique_prefix();
  auto cache = direct(prefix);
  for (int i = 0; i < 300; ++i) ASSERT_TRUE(cache->set("k" + std::to_string(i), "v"));
  const auto masters = shared_cluster().masters();
  ASSERT_EQ(masters.size(), 3u);
  std::size_t total = 0;
  for (auto* m : masters) {
    const std::size_t n = keys_on(*m, prefix);
    EXPECT_GT(n, 50u) << "master " << m->port();
    total += n;
  }
  EXPECT_EQ(total, 300u);
  // Each key sits on the master that owns its slot (the server's own CLUSTER KEYSLOT).
  for (int i = 0; i < 300; i += 37) {
    const std::string key = prefix + "k" + std::to_string(i);
    const int slot = std::stoi(masters.front()->command({"CLUSTER", "KEYSLOT", key}));
    EXPECT_EQ(shared_cluster().master_of_slot(slot).command({"EXISTS", key}), "1") << key;
  }
}

TEST_F(RedisClusterTest, BatchesOfAThousandKeysAcrossEveryNode) {
  auto cache = direct(unique_prefix());
  std::vector<std::string> keys, values;
  for (int i = 0; i < 1000; ++i) {
    keys.push_back("key:" + std::to_string(i));
    values.push_back("value:" + std::to_string(i * 7));
  }
  std::vector<std::pair<std::string_view, std::string_view>> items;
  std::vector<std::string_view> views;
  for (int i = 0; i < 1000; ++i) {
    items.emplace_back(keys[i], values[i]);
    views.emplace_back(keys[i]);
  }
  ASSERT_TRUE(cache->set_many(items, 60s));
  auto got = cache->get_many(views);
  ASSERT_EQ(got.size(), 1000u);
  for (int i = 0; i < 1000; ++i) ASSERT_EQ(got[i], std::optional<std::string>(values[i])) << keys[i];
  // Half of them removed, results in the caller's order.
  std::vector<std::string_view> odd;
  for (int i = 1; i < 1000; i += 2) odd.push_back(views[i]);
  EXPECT_EQ(cache->remove_many(odd), 500u);
  got = cache->get_many(views);
  for (int i = 0; i < 1000; ++i) EXPECT_EQ(got[i].has_value(), i % 2 == 0) << keys[i];
  EXPECT_TRUE(cache->set_many(items, Ttl::never()));
  EXPECT_EQ(cache->remove_many(views), 1000u);
  EXPECT_EQ(cache->stats().errors, 0u);
}

TEST_F(RedisClusterTest, AHashTagInThePrefixPutsEveryKeyOnOneNode) {
  const std::string prefix = "{" + unique_prefix() + "}";
  auto cache = direct(prefix);
  for (int i = 0; i < 50; ++i) ASSERT_TRUE(cache->set("k" + std::to_string(i), "v"));
  std::vector<std::size_t> counts;
  for (auto* m : shared_cluster().masters()) counts.push_back(keys_on(*m, prefix));
  std::sort(counts.begin(), counts.end());
  EXPECT_EQ(counts, (std::vector<std::size_t>{0, 0, 50}));
  // A tag in the key, without one in the prefix: those keys share a slot.
  const std::string plain = unique_prefix();
  auto tagged = direct(plain);
  ASSERT_TRUE(tagged->set("{user7}.name", "n"));
  ASSERT_TRUE(tagged->set("{user7}.mail", "m"));
  auto& node = shared_cluster().master_of_slot(slot_of(plain + "{user7}.name"));
  EXPECT_EQ(node.command({"EXISTS", plain + "{user7}.name"}), "1");
  EXPECT_EQ(node.command({"EXISTS", plain + "{user7}.mail"}), "1");
}

TEST_F(RedisClusterTest, ClearRemovesThePrefixOnEveryMasterAndNothingElse) {
  const std::string mine = unique_prefix();
  const std::string other = unique_prefix();
  auto cache = direct(mine);
  auto neighbour = direct(other);
  for (int i = 0; i < 200; ++i) {
    ASSERT_TRUE(cache->set("k" + std::to_string(i), "v"));
    ASSERT_TRUE(neighbour->set("k" + std::to_string(i), "v"));
  }
  EXPECT_TRUE(cache->clear());
  for (auto* m : shared_cluster().masters()) {
    EXPECT_EQ(keys_on(*m, mine), 0u) << m->port();
    EXPECT_GT(keys_on(*m, other), 0u) << m->port();
  }
  EXPECT_TRUE(cache->ping());
  EXPECT_TRUE(neighbour->clear());
}

TEST_F(RedisClusterTest, ReadsFromReplicasSeeWhatWasWritten) {
  auto o = RedisOptions::from_url(shared_cluster().url() + "?read_from_replicas=true");
  o.key_prefix = unique_prefix();
  o.on_error = ErrorPolicy::Throw;
  RedisCache cache(o);
  for (int i = 0; i < 30; ++i) ASSERT_TRUE(cache.set("k" + std::to_string(i), "v" + std::to_string(i)));
  // Replication is asynchronous: a read may briefly miss, never see another value.
  const auto deadline = Clock::now() + 5s;
  int found = 0;
  while (found < 30 && Clock::now() < deadline) {
    found = 0;
    for (int i = 0; i < 30; ++i) {
      const auto v = cache.get("k" + std::to_string(i));
      if (v) {
        EXPECT_EQ(*v, "v" + std::to_string(i));
        ++found;
      }
    }
  }
  EXPECT_EQ(found, 30);
  EXPECT_EQ(cache.stats().errors, 0u);
}

// A slot migrates between masters while 3 threads write and read keys of that
// slot (a hash-tag prefix): the cache follows ASK during the migration and
// MOVED after it, and never returns a wrong value.
TEST_F(RedisClusterTest, LiveSlotMigrationIsFollowedWithoutWrongAnswers) {
  auto& cluster = shared_cluster();
  const std::string prefix = "{" + unique_prefix() + "}";
  const int slot = slot_of(prefix + "x");
  RedisServer& from = cluster.master_of_slot(slot);
  RedisServer* to = nullptr;
  for (auto* m : cluster.masters()) {
    if (m != &from) to = m;
  }
  ASSERT_NE(to, nullptr);
  auto cache = direct(prefix, ErrorPolicy::FailOpen);
  constexpr int kKeys = 300;
  for (int i = 0; i < kKeys; ++i) ASSERT_TRUE(cache->set("k" + std::to_string(i), "0"));

  std::atomic<bool> stop{false};
  std::atomic<int> wrong{0}, ops{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 3; ++t) {
    threads.emplace_back([&, t] {
      std::vector<int> version(kKeys, 0);  // this thread owns keys i with i % 3 == t
      for (int round = 1; !stop; ++round) {
        for (int i = t; i < kKeys && !stop; i += 3) {
          const std::string key = "k" + std::to_string(i);
          const auto got = cache->get(key);
          if (got && *got != std::to_string(version[i])) wrong.fetch_add(1);
          if (cache->set(key, std::to_string(round))) version[i] = round;
          ops.fetch_add(2);
        }
      }
    });
  }
  const std::string from_id = cluster.node_id(from);
  const std::string to_id = cluster.node_id(*to);
  ASSERT_EQ(to->command({"CLUSTER", "SETSLOT", std::to_string(slot), "IMPORTING", from_id}), "OK");
  ASSERT_EQ(from.command({"CLUSTER", "SETSLOT", std::to_string(slot), "MIGRATING", to_id}), "OK");
  for (;;) {
    std::this_thread::sleep_for(20ms);  // let traffic meet a half-migrated slot
    const std::string listed = from.command({"CLUSTER", "GETKEYSINSLOT", std::to_string(slot), "20"});
    if (listed.empty()) break;
    std::vector<std::string> migrate = {"MIGRATE", "127.0.0.1", std::to_string(to->port()), "", "0", "5000", "KEYS"};
    std::istringstream in(listed);
    for (std::string k; std::getline(in, k);) migrate.push_back(k);
    ASSERT_EQ(from.command(migrate), "OK");
  }
  for (const auto& n : cluster.nodes()) {
    if (n->running()) n->command({"CLUSTER", "SETSLOT", std::to_string(slot), "NODE", to_id});
  }
  std::this_thread::sleep_for(300ms);  // traffic after the move: MOVED
  stop = true;
  for (auto& th : threads) th.join();
  ASSERT_TRUE(cluster.wait_ok());
  EXPECT_EQ(wrong.load(), 0);
  EXPECT_GT(ops.load(), 1000);
  EXPECT_EQ(cache->stats().errors, 0u) << cache->stats().to_string();
  EXPECT_EQ(keys_on(from, prefix), 0u);
  EXPECT_EQ(keys_on(*to, prefix), static_cast<std::size_t>(kKeys));
}

// A master is SIGKILLed while 4 threads read, write and remove through the
// factory's cache (RedisCache behind the runtime fallback). No exception
// escapes; a direct probe on one of the dead master's slots fails only until
// shortly after its replica is promoted; once the breaker has closed and the
// journal replayed, no key whose last operation was a remove is readable.
TEST_F(RedisClusterTest, MasterKilledUnderTrafficFailsOverWithinTheWindow) {
  auto& cluster = shared_cluster();
  const std::string prefix = unique_prefix();
  auto cache = from_factory(cluster.url(), Ttl(60s), "runtime", prefix);
  auto* fallback = dynamic_cast<cachet::FallbackCache*>(cache.get());
  ASSERT_NE(fallback, nullptr);
  const int slot = slot_of(prefix + "k0");
  RedisServer& victim = cluster.master_of_slot(slot);
  std::string probe_key;
  for (int i = 0; probe_key.empty(); ++i) {
    const std::string k = "{p" + std::to_string(i) + "}";
    if (&cluster.master_of_slot(slot_of(prefix + k)) == &victim) probe_key = k;
  }

  constexpr int kThreads = 4, kKeys = 400;
  std::vector<char> removed(kKeys, 0);  // per key, written only by its owner thread
  std::atomic<bool> stop{false};
  std::atomic<int> escaped{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int round = 0; !stop; ++round) {
        for (int i = t; i < kKeys && !stop; i += kThreads) {
          const std::string key = "k" + std::to_string(i);
          try {
            if ((round + i) % 3 == 0) {
              cache->remove(key);
              removed[static_cast<std::size_t>(i)] = 1;
            } else {
              cache->set(key, std::to_string(round));
              removed[static_cast<std::size_t>(i)] = 0;
              cache->get(key);
            }
          } catch (...) {
            escaped.fetch_add(1);
          }
        }
      }
    });
  }
  // The probe: a plain RedisCache (errors thrown) on a key the victim serves.
  auto probe = direct(prefix);
  std::atomic<std::int64_t> last_failure_ns{0}, last_success_ns{0};
  auto since_epoch = [] { return Clock::now().time_since_epoch().count(); };
  std::thread prober([&] {
    while (!stop) {
      try {
        if (probe->set(probe_key, "x") && probe->get(probe_key) == std::optional<std::string>("x")) {
          last_success_ns = since_epoch();
        } else {
          last_failure_ns = since_epoch();
        }
      } catch (const cachet::BackendError&) {
        last_failure_ns = since_epoch();
      }
      std::this_thread::sleep_for(5ms);
    }
  });

  std::this_thread::sleep_for(300ms);
  victim.kill();
  const auto killed = Clock::now();
  Clock::time_point promoted{};
  while (Clock::now() - killed < 15s) {
    try {
      if (&cluster.master_of_slot(slot) != &victim) {
        promoted = Clock::now();
        break;
      }
    } catch (const std::exception&) {
    }
    std::this_thread::sleep_for(10ms);
  }
  ASSERT_NE(promoted, Clock::time_point{}) << "no replica promoted within 15 s";
  std::this_thread::sleep_for(2500ms);
  stop = true;
  for (auto& th : threads) th.join();
  prober.join();

  const auto promoted_ns = promoted.time_since_epoch().count();
  const auto window = std::chrono::duration_cast<std::chrono::milliseconds>(
      Clock::duration(last_failure_ns.load() - promoted_ns));
  std::printf("failover: promoted %lld ms after the kill; probe's last failure %lld ms after the promotion\n",
              static_cast<long long>(std::chrono::duration_cast<std::chrono::milliseconds>(promoted - killed).count()),
              static_cast<long long>(window.count()));
  EXPECT_EQ(escaped.load(), 0);
  EXPECT_LE(window, 2s) << "the client served again more than 2 s after the promotion";
  EXPECT_GT(last_success_ns.load(), promoted_ns);

  // The breaker closes and the journal replays.
  const auto deadline = Clock::now() + 15s;
  while (Clock::now() < deadline &&
         (fallback->breaker().state != cachet::BreakerState::closed || fallback->breaker().journal_size != 0)) {
    cache->get("k0");
    std::this_thread::sleep_for(50ms);
  }
  ASSERT_EQ(fallback->breaker().state, cachet::BreakerState::closed) << fallback->breaker().to_string();
  auto check = direct(prefix);
  int readable = 0;
  for (int i = 0; i < kKeys; ++i) {
    if (removed[static_cast<std::size_t>(i)] && check->get("k" + std::to_string(i))) ++readable;
  }
  EXPECT_EQ(readable, 0) << "keys removed through the cache are readable";

  victim.start();  // rejoins as a replica of the promoted node
  ASSERT_TRUE(cluster.wait_ok(30s));
}

TEST_F(RedisClusterTest, ASeedThatIsDownIsSkipped) {
  const std::string url = shared_cluster().url();
  const std::string seeds = url.substr(url.find("://") + 3);
  auto o = RedisOptions::from_url("redis+cluster://127.0.0.1:" + std::to_string(cachet::test::free_loopback_port()) +
                                  "," + seeds);
  o.key_prefix = unique_prefix();
  o.on_error = ErrorPolicy::Throw;
  RedisCache cache(o);
  EXPECT_TRUE(cache.set("k", "v"));
  EXPECT_EQ(cache.get("k"), std::optional<std::string>("v"));
  EXPECT_TRUE(cache.ping());
}

TEST_F(RedisClusterTest, AllSeedsDownIsAProbeFailureNamingThemWhileMemoryServes) {
  const int a = cachet::test::free_loopback_port();
  const int b = cachet::test::free_loopback_port();
  const std::string url = "redis+cluster://127.0.0.1:" + std::to_string(a) + ",127.0.0.1:" + std::to_string(b);
  // A valid configuration: the failure is the probe's, not a ConfigError.
  const auto config = CacheConfig::from_map({{"CACHE_TYPE", "redis"}, {"REDIS_URL", url}});
  const auto start = Clock::now();
  cachet::FactoryReport report;
  auto cache = cachet::create_cache_with_fallback(config, &report);
  EXPECT_LT(Clock::now() - start, 2s);
  EXPECT_TRUE(report.fell_back);
  EXPECT_NE(report.reason.find("127.0.0.1:" + std::to_string(a)), std::string::npos) << report.reason;
  EXPECT_NE(report.reason.find("127.0.0.1:" + std::to_string(b)), std::string::npos) << report.reason;
  EXPECT_TRUE(cache->set("k", "v"));
  EXPECT_EQ(cache->get("k"), std::optional<std::string>("v"));

  auto o = RedisOptions::from_url(url);
  o.on_error = ErrorPolicy::Throw;
  RedisCache direct_cache(o);
  try {
    direct_cache.get("k");
    ADD_FAILURE() << "no BackendError";
  } catch (const cachet::BackendError& e) {
    EXPECT_EQ(e.kind(), cachet::ErrorKind::connection);
    EXPECT_NE(std::string(e.what()).find(std::to_string(b)), std::string::npos) << e.what();
  }
}

// rediss+cluster://: a cluster of 3 masters serving TLS only (clients, bus and
// replication), through the factory: the seeds and the nodes CLUSTER SLOTS
// names are all reached over TLS with the one context, and keys spread.
TEST_F(RedisClusterTest, TlsClusterThroughTheFactory) {
  const auto& certs = cachet::test::TlsCerts::shared();
  RedisServer::TlsFiles files;
  files.cert_file = certs.node_cert;
  files.key_file = certs.node_key;
  files.ca_cert_file = certs.ca_cert;
  cachet::test::RedisCluster cluster(/*replicas_per_master=*/0, files);
  const std::string url = cluster.url() + "?ssl_ca_certs=" + certs.ca_cert;
  ASSERT_EQ(url.rfind("rediss+cluster://", 0), 0u) << url;
  const std::string prefix = unique_prefix();
  cachet::CacheFactory factory(CacheConfig::from_map(
      {{"CACHE_TYPE", "redis"}, {"REDIS_URL", url}, {"CACHE_KEY_PREFIX", prefix}, {"CACHE_FALLBACK", "none"}}));
  auto cache = factory.create();
  EXPECT_EQ(cache->backend(), "redis");
  ASSERT_TRUE(factory.report().tls.has_value()) << factory.report().to_string();
  EXPECT_EQ(factory.report().tls->peer_subject, "CN=localhost");

  std::vector<std::pair<std::string, std::string>> items;
  for (int i = 0; i < 200; ++i) items.emplace_back("k" + std::to_string(i), "v" + std::to_string(i));
  ASSERT_TRUE(cache->set_many(items));
  std::vector<std::string> keys;
  for (const auto& item : items) keys.push_back(item.first);
  const auto values = cache->get_many(keys);
  ASSERT_EQ(values.size(), items.size());
  for (std::size_t i = 0; i < items.size(); ++i) EXPECT_EQ(values[i], std::optional<std::string>(items[i].second));
  const auto masters = cluster.masters();
  ASSERT_EQ(masters.size(), 3u);
  for (auto* m : masters) EXPECT_GT(keys_on(*m, prefix), 20u) << "master " << m->port();
  EXPECT_TRUE(cache->clear());
  for (auto* m : masters) EXPECT_EQ(keys_on(*m, prefix), 0u) << "master " << m->port();

  // The same nodes over plaintext: refused, and the reason says TLS.
  cachet::FactoryReport report;
  cachet::create_cache_with_fallback(
      CacheConfig::from_map({{"CACHE_TYPE", "redis"}, {"REDIS_URL", url.substr(0, url.find('?')).erase(5, 1)}}),
      &report);
  EXPECT_TRUE(report.fell_back);
  EXPECT_NE(report.reason.find("TLS"), std::string::npos) << report.reason;
}
