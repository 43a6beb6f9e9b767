// HybridCache against a real redis-server: the conformance suite, then
// coherence as users see it — two caches on separate connections and two
// processes, a writer outside cachet, each mode, a flush, the invalidation
// connection killed, the server paused and restarted, the composition with
// FallbackCache, and a property test with writers, readers and chaos.
#include <gtest/gtest.h>
#include <spawn.h>
#include <sys/wait.h>

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
#include "support/redis_server.hpp"

extern char** environ;

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
  std::string exe = CACHET_HYBRID_WORKER_PATH;
  std::vector<std::string> copy = args;
  std::vector<char*> argv{exe.data()};
  for (auto& a : copy) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid = -1;
  if (posix_spawn(&pid, exe.c_str(), nullptr, nullptr, argv.data(), environ) != 0) return -1;
  return pid;
}

int wait_exit(pid_t pid) {
  int status = 0;
  if (waitpid(pid, &status, 0) != pid) return -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
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
  EXPECT_EQ(wait_exit(watcher), 0);
}

TEST_P(HybridModes, ThisProcessSeesAnotherProcessesWrite) {
  const std::string mode = cachet::to_string(GetParam());
  auto b = make_hybrid(shared_server(), prefix, GetParam());
  ASSERT_TRUE(b->set("k", "old"));
  EXPECT_EQ(b->get("k"), "old");
  EXPECT_EQ(wait_exit(spawn_worker({"write", mode, shared_server().url(), prefix, "k", "new"})), 0);
  EXPECT_TRUE(eventually([&] { return b->get("k") == "new"; }, kWindow));
}
