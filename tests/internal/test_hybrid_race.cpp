// HybridCache's classic race: a value fetched from L2 while an invalidation
// of its key is in flight must not be installed in L1. The library's fill hook
// (detail::set_hybrid_fill_hook) runs between a get's L2 fetch and its L1
// install; here it has another client overwrite the key and waits until the
// invalidation was received, then lets the install go on.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <thread>

#include "cachet/cachet.hpp"
#include "support/redis_server.hpp"

using namespace std::chrono_literals;
using cachet::HybridCache;
using cachet::InvalidationMode;

namespace {

cachet::test::RedisServer* g_server = nullptr;
HybridCache* g_cache = nullptr;
std::string g_prefix;
std::atomic<bool> g_arm{false};
std::atomic<bool> g_wait_for_invalidation{true};

// Between the fetch of "race" and its install: a writer outside the cache
// changes it; optionally the invalidation is awaited before the install.
void overwrite_in_flight(std::string_view key) {
  if (key != "race" || !g_arm.exchange(false)) return;
  const auto before = g_cache->hybrid_stats().invalidations;
  g_server->command({"SET", g_prefix + "race", "new"});
  if (!g_wait_for_invalidation.load()) return;
  const auto deadline = std::chrono::steady_clock::now() + 2s;
  while (g_cache->hybrid_stats().invalidations == before && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(100us);
  }
}

class HybridRace : public ::testing::TestWithParam<InvalidationMode> {
 protected:
  void SetUp() override {
    REQUIRE_REDIS();
    server_ = std::make_unique<cachet::test::RedisServer>();
    g_server = server_.get();
    g_prefix = cachet::test::unique_prefix();
    auto o = cachet::RedisOptions::from_url(server_->url());
    o.key_prefix = g_prefix;
    cachet::InvalidationOptions io;
    io.mode = GetParam();
    auto channel = cachet::redis_invalidation_channel(o, io);
    cache_ = std::make_unique<HybridCache>(std::make_shared<cachet::SimpleCache>(),
                                           std::make_unique<cachet::RedisCache>(o), std::move(channel));
    g_cache = cache_.get();
    cachet::detail::set_hybrid_fill_hook(&overwrite_in_flight);
  }
  void TearDown() override {
    cachet::detail::set_hybrid_fill_hook(nullptr);
    cache_.reset();
    server_.reset();
  }
  std::unique_ptr<cachet::test::RedisServer> server_;
  std::unique_ptr<HybridCache> cache_;
};

INSTANTIATE_TEST_SUITE_P(Modes, HybridRace, ::testing::Values(InvalidationMode::bcast, InvalidationMode::tracking),
                         [](const auto& p) { return std::string(cachet::to_string(p.param)); });

}  // namespace

TEST_P(HybridRace, InvalidationDuringTheFetchPreventsTheInstall) {
  server_->command({"SET", g_prefix + "race", "old"});
  g_wait_for_invalidation = true;
  g_arm = true;
  EXPECT_EQ(cache_->get("race"), "old");  // what L2 held when it was read
  EXPECT_EQ(cache_->hybrid_stats().stale_installs_prevented, 1u);
  EXPECT_EQ(cache_->get("race"), "new");  // not the stale "old" from L1
  EXPECT_EQ(cache_->get("race"), "new");
}

TEST_P(HybridRace, InvalidationAfterTheInstallRemovesIt) {
  server_->command({"SET", g_prefix + "race", "old"});
  g_wait_for_invalidation = false;  // the message arrives whenever it does
  g_arm = true;
  EXPECT_EQ(cache_->get("race"), "old");
  const auto deadline = std::chrono::steady_clock::now() + 1s;
  while (cache_->get("race") != "new" && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(1ms);
  EXPECT_EQ(cache_->get("race"), "new");
}

TEST_P(HybridRace, ConcurrentFillsAndInvalidationsNeverLeaveAStaleEntry) {
  // Readers fill "race" while an outside writer bumps it; once the writer
  // stops and its last invalidation arrived, every read returns the last value.
  std::atomic<bool> stop{false};
  std::vector<std::thread> readers;
  for (int i = 0; i < 3; ++i) {
    readers.emplace_back([&] {
      while (!stop.load()) (void)cache_->get("race");
    });
  }
  for (int n = 0; n < 300; ++n) server_->command({"SET", g_prefix + "race", std::to_string(n)});
  std::this_thread::sleep_for(100ms);
  stop = true;
  for (auto& t : readers) t.join();
  for (int i = 0; i < 20; ++i) EXPECT_EQ(cache_->get("race"), "299");
}
