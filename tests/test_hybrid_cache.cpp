// HybridCache against a real redis-server: the conformance suite, then
// coherence as users see it — two caches on separate connections and two
// processes, a writer outside cachet, each mode, a flush, the invalidation
// connection killed, the server paused and restarted, the composition with
// FallbackCache, and a property test with writers, readers and chaos.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "cachet/cachet.hpp"
#include "support/conformance.hpp"
#include "support/process.hpp"
#include "support/redis_server.hpp"

using cachet::HybridCache;
using cachet::InvalidationMode;
using cachet::RedisOptions;
using cachet::Ttl;
using cachet::test::RedisServer;
using cachet::test::unique_prefix;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace {

RedisServer& shared_server() {
  static std::unique_ptr<RedisServer> server = std::make_unique<RedisServer>();
  return *server;
}

constexpr auto kHeartbeat = 200ms;
// The longest a stale L1 read may be possible after a write was acknowledged:
// the heartbeat (a silently dead channel), plus slack for a loaded machine.
constexpr auto kWindow = kHeartbeat + 300ms;

RedisOptions redis_options(const RedisServer& server, const std::string& prefix, Ttl default_timeout = Ttl::never()) {
  auto o = RedisOptions::from_url(server.url());
  o.key_prefix = prefix;
  o.default_timeout = default_timeout;
  o.pool_size = 4;
  return o;
}

std::unique_ptr<HybridCache> make_hybrid(const RedisServer& server, const std::string& prefix,
                                         InvalidationMode mode = InvalidationMode::bcast,
                                         Ttl default_timeout = Ttl::never()) {
  auto o = redis_options(server, prefix, default_timeout);
  cachet::InvalidationOptions io;
  io.mode = mode;
  io.heartbeat = kHeartbeat;
  auto channel = cachet::redis_invalidation_channel(o, io);
  return std::make_unique<HybridCache>(std::make_shared<cachet::SimpleCache>(),
                                       std::make_unique<cachet::RedisCache>(o), std::move(channel));
}

// Polls `pred` until it holds or `limit` passes.
template <class Pred>
bool eventually(Pred pred, std::chrono::milliseconds limit = 2000ms) {
  const auto deadline = Clock::now() + limit;
  while (Clock::now() < deadline) {
    if (pred()) return true;
    std::this_thread::sleep_for(1ms);
  }
  return pred();
}

bool l1_in_use(const HybridCache& c) { return c.hybrid_stats().l1_in_use; }

}  // namespace

// ---- the shared conformance suite -------------------------------------------

struct HybridFixture {
  static std::unique_ptr<cachet::Cache> make(Ttl default_timeout) {
    if (!cachet::test::redis_server_available()) {
      if (!cachet::test::skip_redis_tests_requested()) ADD_FAILURE() << "redis-server not found";
      return nullptr;
    }
    return make_hybrid(shared_server(), unique_prefix(), InvalidationMode::bcast, default_timeout);
  }
};

struct HybridTrackingFixture {
  static std::unique_ptr<cachet::Cache> make(Ttl default_timeout) {
    if (!cachet::test::redis_server_available()) return nullptr;
    return make_hybrid(shared_server(), unique_prefix(), InvalidationMode::tracking, default_timeout);
  }
};

using HybridFixtures = ::testing::Types<HybridFixture, HybridTrackingFixture>;
INSTANTIATE_TYPED_TEST_SUITE_P(Hybrid, CacheConformance, HybridFixtures);

// ---- coherence between caches ------------------------------------------------

class HybridModes : public ::testing::TestWithParam<InvalidationMode> {
 protected:
  void SetUp() override { REQUIRE_REDIS(); }
  std::string prefix = unique_prefix();
};

INSTANTIATE_TEST_SUITE_P(ServerAssisted, HybridModes,
                         ::testing::Values(InvalidationMode::bcast, InvalidationMode::tracking),
                         [](const auto& p) { return std::string(cachet::to_string(p.param)); });

TEST_P(HybridModes, AnotherCachesWriteReachesThisL1) {
  auto a = make_hybrid(shared_server(), prefix, GetParam());
  auto b = make_hybrid(shared_server(), prefix, GetParam());
  EXPECT_EQ(a->mode(), GetParam());
  ASSERT_TRUE(a->set("k", "v1"));
  std::this_thread::sleep_for(50ms);  // a's write's own invalidation has reached b
  EXPECT_EQ(b->get("k"), "v1");  // from L2, now in b's L1
  EXPECT_EQ(b->get("k"), "v1");  // from L1
  EXPECT_GE(b->hybrid_stats().l1_hits, 1u);
  ASSERT_TRUE(a->set("k", "v2"));
  EXPECT_TRUE(eventually([&] { return b->get("k") == "v2"; }, kWindow));
  ASSERT_TRUE(a->remove("k"));
  EXPECT_TRUE(eventually([&] { return b->get("k") == std::nullopt; }, kWindow));
  EXPECT_GE(b->hybrid_stats().invalidations, 2u);
}

TEST_P(HybridModes, AWriterOutsideCachetInvalidates) {
  auto b = make_hybrid(shared_server(), prefix, GetParam());
  ASSERT_TRUE(b->set("k", "mine"));
  EXPECT_EQ(b->get("k"), "mine");
  shared_server().command({"SET", prefix + "k", "raw"});  // a plain client, not cachet
  EXPECT_TRUE(eventually([&] { return b->get("k") == "raw"; }, kWindow));
  shared_server().command({"DEL", prefix + "k"});
  EXPECT_TRUE(eventually([&] { return b->get("k") == std::nullopt; }, kWindow));
}

TEST_P(HybridModes, FlushAllClearsL1) {
  auto b = make_hybrid(shared_server(), prefix, GetParam());
  ASSERT_TRUE(b->set("k", "v"));
  EXPECT_EQ(b->get("k"), "v");
  shared_server().command({"FLUSHALL"});
  EXPECT_TRUE(eventually([&] { return b->get("k") == std::nullopt; }, kWindow));
  EXPECT_GE(b->hybrid_stats().flushes, 1u);
}

TEST_P(HybridModes, KilledInvalidationConnectionLeavesNoStaleRead) {
  auto b = make_hybrid(shared_server(), prefix, GetParam());
  ASSERT_TRUE(b->set("k", "v1"));
  EXPECT_EQ(b->get("k"), "v1");
  shared_server().command({"CLIENT", "KILL", "TYPE", "pubsub"});
  shared_server().command({"SET", prefix + "k", "v2"});  // while the channel may be down
  std::this_thread::sleep_for(kWindow);
  EXPECT_EQ(b->get("k"), "v2");
  EXPECT_TRUE(eventually([&] { return l1_in_use(*b); }, 5s));
  const auto h = b->hybrid_stats();
  EXPECT_GE(h.channel_losses, 1u);
  EXPECT_GE(h.l1_clears_channel_loss, 1u);
  EXPECT_EQ(b->get("k"), "v2");
  shared_server().command({"SET", prefix + "k", "v3"});  // the new registration works
  EXPECT_TRUE(eventually([&] { return b->get("k") == "v3"; }, kWindow));
}

TEST_P(HybridModes, ClientPauseLeavesNoStaleRead) {
  auto b = make_hybrid(shared_server(), prefix, GetParam());
  ASSERT_TRUE(b->set("k", "v1"));
  EXPECT_EQ(b->get("k"), "v1");
  std::thread writer([&] {
    std::this_thread::sleep_for(50ms);
    shared_server().command({"SET", prefix + "k", "v2"});  // waits for the pause to end
  });
  shared_server().command({"CLIENT", "PAUSE", "700", "ALL"});
  writer.join();
  std::this_thread::sleep_for(kWindow);
  EXPECT_EQ(b->get("k"), "v2");
  EXPECT_TRUE(eventually([&] { return l1_in_use(*b) && b->get("k") == "v2"; }, 5s));
}

// pubsub: cachet processes see each other; a writer outside cachet is not
// seen (as documented) until l1_max_ttl.
TEST(HybridPubsub, CachetWritersSeenOutsideWritersNot) {
  REQUIRE_REDIS();
  const std::string prefix = unique_prefix();
  auto a = make_hybrid(shared_server(), prefix, InvalidationMode::pubsub);
  auto b = make_hybrid(shared_server(), prefix, InvalidationMode::pubsub);
  EXPECT_EQ(b->mode(), InvalidationMode::pubsub);
  ASSERT_TRUE(a->set("k", "v1"));
  EXPECT_EQ(b->get("k"), "v1");
  ASSERT_TRUE(a->set("k", "v2"));
  EXPECT_TRUE(eventually([&] { return b->get("k") == "v2"; }, kWindow));
  ASSERT_TRUE(a->clear());
  EXPECT_TRUE(eventually([&] { return b->get("k") == std::nullopt; }, kWindow));

  ASSERT_TRUE(a->set("k", "v3"));
  EXPECT_TRUE(eventually([&] { return b->get("k") == "v3"; }, kWindow));
  std::this_thread::sleep_for(kWindow);  // a's message may have dropped b's copy after b read it
  EXPECT_EQ(b->get("k"), "v3");          // in b's L1 now
  EXPECT_EQ(a->get("k"), "v3");
  shared_server().command({"SET", prefix + "k", "outside"});
  std::this_thread::sleep_for(kWindow);
  EXPECT_EQ(b->get("k"), "v3") << "pubsub mode does not see writers outside cachet (docs/hybrid.md)";
  EXPECT_EQ(a->get("k"), "v3");
}

TEST(HybridPubsub, RefusedTrackingFallsBackToPubsub) {
  REQUIRE_REDIS();
  const std::string prefix = unique_prefix();
  shared_server().command({"ACL", "SETUSER", "notrack", "on", ">pw", "~*", "&*", "+@all", "-client|tracking"});
  auto o = redis_options(shared_server(), prefix);
  o.username = "notrack";
  o.password = "pw";
  cachet::InvalidationOptions io;
  io.heartbeat = kHeartbeat;
  auto channel = cachet::redis_invalidation_channel(o, io);
  HybridCache c(std::make_shared<cachet::SimpleCache>(), std::make_unique<cachet::RedisCache>(o), std::move(channel));
  EXPECT_EQ(c.mode(), InvalidationMode::pubsub);
  const auto h = c.hybrid_stats();
  EXPECT_NE(h.mode_reason.find("CLIENT TRACKING refused"), std::string::npos) << h.mode_reason;
  EXPECT_TRUE(c.set("k", "v"));
  EXPECT_EQ(c.get("k"), "v");
}

// tracking worked, then the server refuses it (an ACL changed) and every
// connection is dropped: the channel falls back to pubsub, and data
// connections opened afterwards no longer try to redirect to the old
// subscriber (each such refusal would count as a channel loss).
TEST(HybridPubsub, TrackingRefusedAfterAReconnectSettlesOnPubsub) {
  REQUIRE_REDIS();
  const std::string prefix = unique_prefix();
  shared_server().command({"ACL", "SETUSER", "latetrack", "on", ">pw", "~*", "&*", "+@all"});
  {
    auto o = redis_options(shared_server(), prefix);
    o.username = "latetrack";
    o.password = "pw";
    cachet::InvalidationOptions io;
    io.mode = InvalidationMode::tracking;
    io.heartbeat = kHeartbeat;
    auto channel = cachet::redis_invalidation_channel(o, io);
    HybridCache c(std::make_shared<cachet::SimpleCache>(), std::make_unique<cachet::RedisCache>(o),
                  std::move(channel));
    ASSERT_TRUE(eventually([&] { return l1_in_use(c); }, 5s));
    EXPECT_EQ(c.mode(), InvalidationMode::tracking);
    ASSERT_TRUE(c.set("k", "v1"));
    EXPECT_EQ(c.get("k"), "v1");

    shared_server().command({"ACL", "SETUSER", "latetrack", "-client|tracking"});
    shared_server().command({"CLIENT", "KILL", "USER", "latetrack"});
    ASSERT_TRUE(eventually(
        [&] {
          (void)c.get("k");  // the pool reconnects its data connections
          return c.mode() == InvalidationMode::pubsub && l1_in_use(c);
        },
        5s))
        << c.hybrid_stats().to_string();
    const auto losses = c.hybrid_stats().channel_losses;
    // Data connections opened from now on must register nothing.
    shared_server().command({"CLIENT", "KILL", "USER", "latetrack", "TYPE", "normal"});
    for (int i = 0; i < 20; ++i) {
      ASSERT_TRUE(c.set("k" + std::to_string(i), "v"));
      EXPECT_EQ(c.get("k" + std::to_string(i)), "v");
      std::this_thread::sleep_for(kHeartbeat / 4);
    }
    EXPECT_TRUE(l1_in_use(c)) << c.hybrid_stats().to_string();
    EXPECT_EQ(c.hybrid_stats().channel_losses, losses) << c.hybrid_stats().to_string();
  }
  shared_server().command({"ACL", "DELUSER", "latetrack"});
}

TEST(HybridCoherence, CheckCoherenceReportsTheLatency) {
  REQUIRE_REDIS();
  for (auto mode : {InvalidationMode::bcast, InvalidationMode::tracking, InvalidationMode::pubsub}) {
    auto c = make_hybrid(shared_server(), unique_prefix(), mode);
    const auto check = c->check_coherence();
    EXPECT_TRUE(check.ok) << cachet::to_string(mode) << ": " << check.detail;
    EXPECT_EQ(check.mode, mode);
    EXPECT_GT(check.latency.count(), 0);
  }
}

TEST(HybridCoherence, WithoutInvalidationMustBeChosen) {
  auto l2 = std::make_unique<cachet::SimpleCache>();
  EXPECT_THROW(HybridCache(std::make_shared<cachet::SimpleCache>(), std::move(l2), nullptr), std::invalid_argument);
  cachet::HybridOptions none;
  none.without_invalidation = true;
  none.l1_max_ttl = 200ms;
  auto shared_l2 = std::make_unique<cachet::SimpleCache>();
  cachet::Cache* l2_view = shared_l2.get();
  HybridCache c(std::make_shared<cachet::SimpleCache>(), std::move(shared_l2), nullptr, none);
  EXPECT_EQ(c.mode(), InvalidationMode::none);
  EXPECT_TRUE(c.set("k", "v1"));
  EXPECT_EQ(c.get("k"), "v1");
  l2_view->set("k", "v2");  // changed behind the hybrid's back: seen after l1_max_ttl
  EXPECT_EQ(c.get("k"), "v1");
  std::this_thread::sleep_for(300ms);
  EXPECT_EQ(c.get("k"), "v2");
}

TEST(HybridRestart, ServerRestartLeavesNoStaleRead) {
  REQUIRE_REDIS();
  RedisServer server;
  const std::string prefix = unique_prefix();
  auto b = make_hybrid(server, prefix);
  ASSERT_TRUE(b->set("k", "v1"));
  EXPECT_EQ(b->get("k"), "v1");
  server.restart();  // no persistence: the data is gone
  server.command({"SET", prefix + "k", "v2"});
  std::this_thread::sleep_for(kWindow);
  EXPECT_EQ(b->get("k"), "v2");
  EXPECT_TRUE(eventually([&] { return l1_in_use(*b); }, 5s));
  server.command({"SET", prefix + "k", "v3"});
  EXPECT_TRUE(eventually([&] { return b->get("k") == "v3"; }, kWindow));
}

// ---- two processes ---------------------------------------------------------

namespace {

pid_t spawn_worker(const std::vector<std::string>& args) {
  return cachet::test::spawn_program(CACHET_HYBRID_WORKER_PATH, args);
}

}  // namespace

TEST_P(HybridModes, AnotherProcessSeesThisProcessesWrite) {
  const std::string mode = cachet::to_string(GetParam());
  auto a = make_hybrid(shared_server(), prefix, GetParam());
  ASSERT_TRUE(a->set("k", "old"));
  const pid_t watcher = spawn_worker({"watch", mode, shared_server().url(), prefix, "k", "new", "5000"});
  ASSERT_GT(watcher, 0);
  ASSERT_TRUE(eventually([&] { return shared_server().command({"GET", prefix + "k.ready"}) == "1"; }, 5s));
  ASSERT_TRUE(a->set("k", "new"));
  EXPECT_EQ(cachet::test::wait_exit(watcher), 0);
}

TEST_P(HybridModes, ThisProcessSeesAnotherProcessesWrite) {
  const std::string mode = cachet::to_string(GetParam());
  auto b = make_hybrid(shared_server(), prefix, GetParam());
  ASSERT_TRUE(b->set("k", "old"));
  EXPECT_EQ(b->get("k"), "old");
  EXPECT_EQ(cachet::test::wait_exit(spawn_worker({"write", mode, shared_server().url(), prefix, "k", "new"})), 0);
  EXPECT_TRUE(eventually([&] { return b->get("k") == "new"; }, kWindow));
}

// ---- the factory, and the composition with FallbackCache ---------------------

namespace {

std::unique_ptr<cachet::Cache> from_factory(const RedisServer& server, const std::string& prefix,
                                            std::map<std::string, std::string> extra,
                                            cachet::FactoryReport* report = nullptr) {
  std::map<std::string, std::string> m = {{"CACHE_TYPE", "hybrid"},
                                          {"REDIS_URL", server.url()},
                                          {"CACHE_KEY_PREFIX", prefix},
                                          {"CACHE_L1_HEARTBEAT", "200ms"},
                                          {"CACHE_BREAKER_COOLDOWN", "200ms"},
                                          {"CACHE_REDIS_CONNECT_TIMEOUT", "100ms"},
                                          {"CACHE_REDIS_SOCKET_TIMEOUT", "200ms"}};
  for (auto& [k, v] : extra) m[k] = v;
  cachet::CacheFactory factory(cachet::CacheConfig::from_map(m));
  auto cache = factory.create();
  if (report != nullptr) *report = factory.report();
  return cache;
}

}  // namespace

TEST(HybridFactory, BuildsTheHybridAndReportsTheMode) {
  REQUIRE_REDIS();
  cachet::FactoryReport report;
  auto cache = from_factory(shared_server(), unique_prefix(), {}, &report);
  EXPECT_EQ(cache->backend(), "hybrid");
  EXPECT_EQ(report.requested, "hybrid");
  EXPECT_EQ(report.backend, "hybrid");
  EXPECT_FALSE(report.fell_back);
  EXPECT_NE(report.coherence.find("bcast"), std::string::npos) << report.coherence;
  EXPECT_NE(report.to_string().find("coherence="), std::string::npos);
  auto& hybrid = dynamic_cast<HybridCache&>(*cache);
  EXPECT_EQ(hybrid.l1_backend(), "simple");
  EXPECT_EQ(hybrid.l2_backend(), "fallback");  // CACHE_FALLBACK=runtime (default)
  EXPECT_TRUE(hybrid.check_coherence().ok);
  const std::string scrape = cachet::prometheus_text(*cache, "h");
  for (const char* family : {"cachet_l1_hits_total", "cachet_invalidations_total", "cachet_l1_clears_total{",
                             "cachet_l1_in_use{", "cachet_stale_installs_prevented_total"}) {
    EXPECT_NE(scrape.find(family), std::string::npos) << family;
  }

  auto plain = from_factory(shared_server(), unique_prefix(),
                            {{"CACHE_FALLBACK", "none"}, {"CACHE_L1_INVALIDATION", "pubsub"}}, &report);
  EXPECT_EQ(dynamic_cast<HybridCache&>(*plain).l2_backend(), "redis");
  EXPECT_EQ(dynamic_cast<HybridCache&>(*plain).mode(), InvalidationMode::pubsub);
  auto none = from_factory(shared_server(), unique_prefix(), {{"CACHE_L1_INVALIDATION", "none"}});
  EXPECT_EQ(dynamic_cast<HybridCache&>(*none).mode(), InvalidationMode::none);
}

TEST(HybridFactory, RedisDownFollowsCacheFallback) {
  REQUIRE_REDIS();
  RedisServer server;
  server.stop();
  EXPECT_THROW(from_factory(server, unique_prefix(), {{"CACHE_FALLBACK", "none"}}), cachet::BackendError);
  cachet::FactoryReport report;
  auto startup = from_factory(server, unique_prefix(), {{"CACHE_FALLBACK", "startup"}}, &report);
  EXPECT_EQ(startup->backend(), "simple");
  EXPECT_TRUE(report.fell_back);
  auto runtime = from_factory(server, unique_prefix(), {}, &report);
  EXPECT_EQ(runtime->backend(), "hybrid");
  EXPECT_TRUE(report.fell_back);
  EXPECT_TRUE(runtime->set("k", "v"));  // served by memory, journaled
  EXPECT_EQ(runtime->get("k"), "v");
}

// Redis goes away: the L1 keeps serving what it held and what is written
// meanwhile (it is the FallbackCache's secondary: one budget); after recovery
// the journal is replayed, L1 is cleared, and a value written elsewhere
// during the outage is what is read.
TEST(HybridFactory, OutageServedByL1ThenClearedAfterRecovery) {
  REQUIRE_REDIS();
  RedisServer server;
  const std::string prefix = unique_prefix();
  auto cache = from_factory(server, prefix, {});
  auto& hybrid = dynamic_cast<HybridCache&>(*cache);
  ASSERT_TRUE(cache->set("held", "before"));
  // bcast echoes this process's own write back (docs/hybrid.md): once that
  // has dropped the L1 copy, a read fills it again from Redis.
  std::this_thread::sleep_for(100ms);
  EXPECT_EQ(cache->get("held"), "before");
  const auto l1_hits = hybrid.hybrid_stats().l1_hits;
  EXPECT_EQ(cache->get("held"), "before");
  EXPECT_EQ(hybrid.hybrid_stats().l1_hits, l1_hits + 1);

  server.stop();
  EXPECT_TRUE(eventually([&] { return !hybrid.hybrid_stats().l1_in_use; }, 3s));
  EXPECT_EQ(cache->get("held"), "before");          // the L1 serves the outage
  EXPECT_TRUE(cache->set("during", "outage-write"));  // journaled; held by the L1
  EXPECT_EQ(cache->get("during"), "outage-write");

  server.start();
  server.command({"SET", prefix + "held", "written-elsewhere"});
  EXPECT_TRUE(eventually([&] { return hybrid.hybrid_stats().l1_in_use; }, 10s));
  EXPECT_EQ(cache->get("held"), "written-elsewhere");  // nothing stale survived the recovery
  EXPECT_EQ(cache->get("during"), "outage-write");     // the journal was replayed
  EXPECT_EQ(server.command({"GET", prefix + "during"}), "outage-write");
  const auto h = hybrid.hybrid_stats();
  EXPECT_GE(h.channel_losses, 1u);
  EXPECT_GE(h.l1_clears_recovery + h.l1_clears_channel_loss, 1u);
  server.command({"SET", prefix + "held", "again"});
  EXPECT_TRUE(eventually([&] { return cache->get("held") == "again"; }, kWindow));
}

// ---- the property: no read older than an acknowledged write + the window ---

// Writers (each its own HybridCache, i.e. its own connections) own disjoint
// keys and write increasing versions, recording when each was acknowledged.
// Readers (their own HybridCaches) check every value they read against the
// newest version acknowledged more than kWindow before the read started.
// Meanwhile the invalidation connections are killed and keys are touched by
// an outside client (PEXPIRE: an invalidation that keeps the value).
TEST(HybridProperty, NoReadOlderThanAnAcknowledgedWritePlusTheWindow) {
  REQUIRE_REDIS();
  constexpr int kWriters = 2, kReaders = 3, kKeys = 8;
  const auto run_for = 3s;
  const std::string prefix = unique_prefix();
  struct Acked {
    std::mutex mu;
    std::vector<std::pair<long, Clock::time_point>> versions;  // ascending
    long newest_before(Clock::time_point t) {
      std::lock_guard<std::mutex> lock(mu);
      long v = -1;
      for (const auto& [version, at] : versions) {
        if (at < t) v = version;
      }
      return v;
    }
  };
  std::vector<Acked> acked(kKeys);
  std::atomic<bool> stop{false};
  std::atomic<long> reads{0}, violations{0};
  std::vector<std::thread> threads;
  for (int w = 0; w < kWriters; ++w) {
    threads.emplace_back([&, w] {
      auto c = make_hybrid(shared_server(), prefix);
      for (long version = 0; !stop.load(); ++version) {
        for (int k = w; k < kKeys; k += kWriters) {
          if (c->set("k" + std::to_string(k), std::to_string(version))) {
            std::lock_guard<std::mutex> lock(acked[static_cast<std::size_t>(k)].mu);
            acked[static_cast<std::size_t>(k)].versions.emplace_back(version, Clock::now());
          }
        }
        std::this_thread::sleep_for(2ms);
      }
    });
  }
  for (int r = 0; r < kReaders; ++r) {
    threads.emplace_back([&, r] {
      auto c = make_hybrid(shared_server(), prefix, r == 0 ? InvalidationMode::tracking : InvalidationMode::bcast);
      std::mt19937 rng(static_cast<unsigned>(r));
      while (!stop.load()) {
        const int k = static_cast<int>(rng() % kKeys);
        const auto started = Clock::now();
        const auto v = c->get("k" + std::to_string(k));
        reads.fetch_add(1);
        const long floor = acked[static_cast<std::size_t>(k)].newest_before(started - kWindow);
        if (floor >= 0 && (!v || std::stol(*v) < floor)) violations.fetch_add(1);
      }
    });
  }
  std::thread chaos([&] {
    std::mt19937 rng(7);
    while (!stop.load()) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100 + rng() % 200));
      if (rng() % 3 == 0) {
        shared_server().command({"CLIENT", "KILL", "TYPE", "pubsub"});
      } else {
        shared_server().command({"PEXPIRE", prefix + "k" + std::to_string(rng() % kKeys), "600000"});
      }
    }
  });
  std::this_thread::sleep_for(run_for);
  stop = true;
  chaos.join();
  for (auto& t : threads) t.join();
  EXPECT_GT(reads.load(), 1000);
  EXPECT_EQ(violations.load(), 0) << "of " << reads.load() << " reads";
}
