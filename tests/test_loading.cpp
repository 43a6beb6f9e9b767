// get_or_set with LoadOptions (include/cachet/load_options.hpp) on every
// backend: fail-safe, throttle, soft and hard timeouts, eager refresh, the
// defaults merge, the stored-entry header, destruction with loads in flight.
// Redis and the fallback wrapper run against a real redis-server; the
// cross-process lock runs lock_worker processes against it.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "cachet/cachet.hpp"
#include "support/process.hpp"
#include "support/redis_server.hpp"

using namespace std::chrono_literals;
using cachet::LoadOptions;
using cachet::Ttl;
using cachet::test::RedisServer;
using Clock = std::chrono::steady_clock;

namespace {

// How late a timed answer may come on a loaded 2-core machine (sanitizers
// slow everything down several times).
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
constexpr auto kSlack = 400ms;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
constexpr auto kSlack = 400ms;
#else
constexpr auto kSlack = 100ms;
#endif
#else
constexpr auto kSlack = 100ms;
#endif

RedisServer& shared_server() {
  static std::unique_ptr<RedisServer> server = std::make_unique<RedisServer>();
  return *server;
}

cachet::RedisOptions redis_options(cachet::ErrorPolicy policy = cachet::ErrorPolicy::FailOpen) {
  auto o = cachet::RedisOptions::from_url(shared_server().url());
  o.key_prefix = cachet::test::unique_prefix();
  o.on_error = policy;
  o.default_timeout = 60s;
  return o;
}

struct SimpleBackend {
  static std::unique_ptr<cachet::Cache> make() {
    cachet::SimpleCacheOptions o;
    o.default_timeout = 60s;
    return std::make_unique<cachet::SimpleCache>(o);
  }
};

struct RedisBackend {
  static std::unique_ptr<cachet::Cache> make() {
    REQUIRE_REDIS_OR_THROW();
    return std::make_unique<cachet::RedisCache>(redis_options());
  }
  static void REQUIRE_REDIS_OR_THROW() {
    if (!cachet::test::redis_server_available()) throw std::runtime_error("redis-server not found");
  }
};

struct FallbackBackend {
  static std::unique_ptr<cachet::Cache> make() {
    RedisBackend::REQUIRE_REDIS_OR_THROW();
    cachet::SimpleCacheOptions m;
    m.default_timeout = 60s;
    return std::make_unique<cachet::FallbackCache>(
        std::make_unique<cachet::RedisCache>(redis_options(cachet::ErrorPolicy::Throw)),
        std::make_unique<cachet::SimpleCache>(m), cachet::FallbackOptions{});
  }
};

template <class Backend>
class Loading : public ::testing::Test {
 protected:
  std::unique_ptr<cachet::Cache> cache = Backend::make();
};

using Backends = ::testing::Types<SimpleBackend, RedisBackend, FallbackBackend>;
TYPED_TEST_SUITE(Loading, Backends);

struct SourceDown : std::runtime_error {
  SourceDown() : std::runtime_error("database unreachable") {}
};

LoadOptions fail_safe(std::chrono::milliseconds ttl) {
  LoadOptions o;
  o.ttl = ttl;
  o.fail_safe = true;
  return o;
}

template <class Pred>
bool eventually(Pred pred, std::chrono::milliseconds limit = 10s) {
  const auto deadline = Clock::now() + limit;
  while (!pred()) {
    if (Clock::now() > deadline) return false;
    std::this_thread::sleep_for(10ms);
  }
  return true;
}

TYPED_TEST(Loading, LoaderErrorWithoutStaleValueReachesTheCaller) {
  auto& c = *this->cache;
  EXPECT_THROW(c.get_or_set("k", []() -> std::string { throw SourceDown(); }, fail_safe(1s)), SourceDown);
  EXPECT_FALSE(c.get("k").has_value());
  EXPECT_EQ(c.stats().stale_served, 0u);
}

TYPED_TEST(Loading, StaleValueServedWhenTheLoaderFailsThenThrottled) {
  auto& c = *this->cache;
  auto o = fail_safe(100ms);
  o.fail_safe_throttle = 400ms;
  EXPECT_EQ(c.get_or_set("k", [] { return std::string("v1"); }, o), "v1");
  EXPECT_EQ(c.get("k"), "v1");  // fresh: get() sees the value, not the header
  std::this_thread::sleep_for(150ms);
  EXPECT_FALSE(c.get("k").has_value());  // stale: only get_or_set may serve it
  std::atomic<int> calls{0};
  auto failing = [&]() -> std::string {
    ++calls;
    throw SourceDown();
  };
  EXPECT_EQ(c.get_or_set("k", failing, o), "v1");
  EXPECT_EQ(calls.load(), 1);
  EXPECT_EQ(c.stats().stale_served, 1u);
  // Throttled: served as if fresh, the failing source is not called again.
  for (int i = 0; i < 5; ++i) EXPECT_EQ(c.get_or_set("k", failing, o), "v1");
  EXPECT_EQ(calls.load(), 1);
  EXPECT_EQ(c.get("k"), "v1");
  // After the throttle window the loader is tried again (and fails again).
  std::this_thread::sleep_for(450ms);
  EXPECT_EQ(c.get_or_set("k", failing, o), "v1");
  EXPECT_EQ(calls.load(), 2);
  // A working loader replaces the stale value.
  std::this_thread::sleep_for(450ms);
  EXPECT_EQ(c.get_or_set("k", [] { return std::string("v2"); }, o), "v2");
  EXPECT_EQ(c.get("k"), "v2");
}

TYPED_TEST(Loading, NoStaleValueBeyondFailSafeMax) {
  auto& c = *this->cache;
  auto o = fail_safe(50ms);
  o.fail_safe_max = 100ms;
  c.get_or_set("k", [] { return std::string("v1"); }, o);
  std::this_thread::sleep_for(250ms);  // past ttl + fail_safe_max
  EXPECT_THROW(c.get_or_set("k", []() -> std::string { throw SourceDown(); }, o), SourceDown);
}

TYPED_TEST(Loading, SoftTimeoutAnswersStaleAndTheLoadLandsLater) {
  auto& c = *this->cache;
  auto o = fail_safe(100ms);
  o.soft_timeout = 50ms;
  c.get_or_set("k", [] { return std::string("old"); }, o);
  std::this_thread::sleep_for(150ms);
  const auto start = Clock::now();
  auto slow = [] {
    std::this_thread::sleep_for(300ms);
    return std::string("new");
  };
  EXPECT_EQ(c.get_or_set("k", slow, o), "old");
  EXPECT_LT(Clock::now() - start, o.soft_timeout + kSlack);
  EXPECT_EQ(c.stats().loader_timeouts, 1u);
  EXPECT_EQ(c.stats().stale_served, 1u);
  EXPECT_TRUE(eventually([&] { return c.get("k") == std::optional<std::string>("new"); }));
  EXPECT_GE(c.stats().background_loads, 1u);
}

TYPED_TEST(Loading, HardTimeoutWithoutStaleThrowsForCallerAndWaiters) {
  auto& c = *this->cache;
  LoadOptions o;
  o.ttl = 10s;
  o.hard_timeout = 100ms;
  auto slow = [] {
    std::this_thread::sleep_for(500ms);
    return std::string("late");
  };
  std::atomic<int> timeouts{0};
  std::vector<std::thread> waiters;
  const auto start = Clock::now();
  for (int i = 0; i < 3; ++i) {
    waiters.emplace_back([&] {
      try {
        c.get_or_set("k", slow, o);
      } catch (const cachet::TimeoutError&) {
        ++timeouts;
      }
    });
  }
  for (auto& t : waiters) t.join();
  EXPECT_EQ(timeouts.load(), 3);
  EXPECT_LT(Clock::now() - start, o.hard_timeout + kSlack);
  // The loader went on in the background; its result is stored.
  EXPECT_TRUE(eventually([&] { return c.get("k") == std::optional<std::string>("late"); }));
}

TYPED_TEST(Loading, HardTimeoutServesStaleWhenThereIsOne) {
  auto& c = *this->cache;
  auto o = fail_safe(50ms);
  o.hard_timeout = 80ms;
  c.get_or_set("k", [] { return std::string("old"); }, o);
  std::this_thread::sleep_for(100ms);
  auto slow = [] {
    std::this_thread::sleep_for(400ms);
    return std::string("new");
  };
  EXPECT_EQ(c.get_or_set("k", slow, o), "old");
  EXPECT_TRUE(eventually([&] { return c.get("k") == std::optional<std::string>("new"); }));
}

TYPED_TEST(Loading, EagerRefreshNeverMakesAHotKeyWait) {
  auto& c = *this->cache;
  LoadOptions o;
  o.ttl = 600ms;
  o.eager_refresh = 0.5;
  std::atomic<int> loads{0};
  auto loader = [&] {
    ++loads;
    std::this_thread::sleep_for(150ms);
    return std::string("v") + std::to_string(loads.load());
  };
  c.get_or_set("hot", loader, o);  // the first load waits, as any miss does
  std::atomic<int> waited{0};
  std::atomic<long long> calls{0};
  auto reader = [&] {
    const auto end = Clock::now() + 3 * o.ttl.duration();
    while (Clock::now() < end) {
      const auto t0 = Clock::now();
      c.get_or_set("hot", loader, o);
      if (Clock::now() - t0 >= 100ms) ++waited;  // the loader takes 150 ms
      ++calls;
      std::this_thread::sleep_for(1ms);
    }
  };
  std::thread a(reader), b(reader);
  a.join();
  b.join();
  EXPECT_EQ(waited.load(), 0) << "of " << calls.load() << " calls";
  EXPECT_GE(loads.load(), 3);  // refreshed in the background, period after period
  EXPECT_GE(c.stats().eager_refreshes, 2u);
}

TYPED_TEST(Loading, CacheDefaultsApplyToFieldsLeftAtTheirDefault) {
  auto& c = *this->cache;
  LoadOptions d;
  d.fail_safe = true;
  c.set_load_defaults(d);
  EXPECT_TRUE(c.load_defaults().fail_safe);
  c.get_or_set("k", [] { return std::string("v1"); }, Ttl(50ms));  // the Ttl overload merges too
  std::this_thread::sleep_for(100ms);
  EXPECT_EQ(c.get_or_set("k", []() -> std::string { throw SourceDown(); }, Ttl(50ms)), "v1");
  // use_cache_defaults = false: exactly as given, fail-safe off.
  LoadOptions exact;
  exact.ttl = 50ms;
  exact.use_cache_defaults = false;
  c.get_or_set("j", [] { return std::string("v1"); }, exact);
  std::this_thread::sleep_for(100ms);
  EXPECT_THROW(c.get_or_set("j", []() -> std::string { throw SourceDown(); }, exact), SourceDown);
}

TYPED_TEST(Loading, InvalidOptionsAreRefused) {
  auto& c = *this->cache;
  LoadOptions o;
  o.eager_refresh = 1.0;
  EXPECT_THROW(c.get_or_set("k", [] { return std::string("v"); }, o), std::invalid_argument);
  o = {};
  o.soft_timeout = 200ms;
  o.hard_timeout = 100ms;
  EXPECT_THROW(c.get_or_set("k", [] { return std::string("v"); }, o), std::invalid_argument);
  o = {};
  o.lock_timeout = 0ms;
  EXPECT_THROW(c.set_load_defaults(o), std::invalid_argument);
}

TYPED_TEST(Loading, TypedValues) {
  auto& c = *this->cache;
  EXPECT_EQ(c.template get_or_set_as<int>("n", [] { return 42; }, fail_safe(1s)), 42);
  EXPECT_EQ(c.template get_or_set_as<int>("n", [] { return 7; }), 42);
  EXPECT_EQ(c.template get_as<int>("n"), 42);
  c.set("text", "not a number");
  EXPECT_EQ(c.template get_or_set_as<int>("text", [] { return 5; }), 5);  // replaced
}

TYPED_TEST(Loading, DestroyedWithLoadsInFlight) {
  std::atomic<int> finished{0};
  {
    auto& c = *this->cache;
    c.set_loader_threads(1);
    LoadOptions o;
    o.hard_timeout = 20ms;
    auto slow = [&finished] {
      std::this_thread::sleep_for(200ms);
      ++finished;
      return std::string("v");
    };
    EXPECT_THROW(c.get_or_set("a", slow, o), cachet::TimeoutError);  // running on the loader thread
    EXPECT_THROW(c.get_or_set("b", slow, o), cachet::TimeoutError);  // queued behind it
    this->cache.reset();  // waits for "a", drops "b"
  }
  EXPECT_EQ(finished.load(), 1);
}

TEST(LoadingConfig, FactoryCachesGetTheLoaderKeysAsDefaults) {
  auto config = cachet::CacheConfig::from_map({{"CACHE_FAIL_SAFE", "true"},
                                               {"CACHE_FAIL_SAFE_MAX", "1h"},
                                               {"CACHE_LOADER_SOFT_TIMEOUT", "50ms"},
                                               {"CACHE_LOADER_HARD_TIMEOUT", "2s"},
                                               {"CACHE_EAGER_REFRESH", "0.8"},
                                               {"CACHE_DISTRIBUTED_LOCK", "yes"},
                                               {"CACHE_LOADER_THREADS", "3"}});
  auto cache = cachet::create_cache(config);
  const LoadOptions d = cache->load_defaults();
  EXPECT_TRUE(d.fail_safe);
  EXPECT_EQ(d.fail_safe_max, 1h);
  EXPECT_EQ(d.soft_timeout, 50ms);
  EXPECT_EQ(d.hard_timeout, 2s);
  EXPECT_DOUBLE_EQ(d.eager_refresh, 0.8);
  EXPECT_TRUE(d.distributed_lock);
  EXPECT_THROW(cachet::CacheConfig::from_map({{"CACHE_EAGER_REFRESH", "1.5"}}), cachet::ConfigError);
  EXPECT_THROW(cachet::CacheConfig::from_map({{"CACHE_LOADER_SOFT_TIMEOUT", "2s"}, {"CACHE_LOADER_HARD_TIMEOUT", "1s"}}),
               cachet::ConfigError);
  EXPECT_THROW(cachet::CacheConfig::from_map({{"CACHE_FAIL_SAFE", "maybe"}}), cachet::ConfigError);
}

// ---- the stored format, read by a client that is not cachet -----------------

std::int64_t be64(const std::string& s, std::size_t at) {
  std::uint64_t v = 0;
  for (std::size_t i = 0; i < 8; ++i) v = (v << 8) | static_cast<unsigned char>(s[at + i]);
  return static_cast<std::int64_t>(v);
}

TEST(LoadingFormat, HeaderReadByARawClientFollowingTheDocs) {
  REQUIRE_REDIS();
  auto o = redis_options();
  cachet::RedisCache c(o);
  auto lo = fail_safe(10s);
  lo.fail_safe_max = 60s;
  const auto before = std::chrono::duration_cast<std::chrono::milliseconds>(
                          std::chrono::system_clock::now().time_since_epoch()).count();
  c.get_or_set("doc", [] { return std::string("payload"); }, lo);
  const std::string raw = shared_server().command({"GET", o.key_prefix + "doc"});
  ASSERT_EQ(raw.size(), 32u + 7u);
  EXPECT_EQ(static_cast<unsigned char>(raw[0]), 0xFF);
  EXPECT_EQ(static_cast<unsigned char>(raw[1]), 0xCA);
  EXPECT_EQ(raw[2], 1);  // version
  EXPECT_EQ(raw[3], 0);  // flags
  for (int i = 4; i < 8; ++i) EXPECT_EQ(raw[static_cast<std::size_t>(i)], 0);
  const auto written = be64(raw, 8), fresh = be64(raw, 16), stale = be64(raw, 24);
  EXPECT_GE(written, before);
  EXPECT_EQ(fresh - written, 10'000);
  EXPECT_EQ(stale - fresh, 60'000);
  EXPECT_EQ(raw.substr(32), "payload");
  // Physical expiry: ttl + fail_safe_max.
  const long long pttl = std::stoll(shared_server().command({"PTTL", o.key_prefix + "doc"}));
  EXPECT_GT(pttl, 60'000);
  EXPECT_LE(pttl, 70'000);
  // A plain set() stays plain bytes.
  c.set("plain", "payload");
  EXPECT_EQ(shared_server().command({"GET", o.key_prefix + "plain"}), "payload");
}

// ---- the distributed lock: several processes ---------------------------------

pid_t spawn_worker(const std::vector<std::string>& args) {
  return cachet::test::spawn_program(CACHET_LOCK_WORKER_PATH, args);
}

TEST(LoadingLock, OneLoaderAcrossProcesses) {
  REQUIRE_REDIS();
  const std::string prefix = cachet::test::unique_prefix();
  std::vector<pid_t> workers;
  for (int i = 0; i < 3; ++i) {
    workers.push_back(spawn_worker({"load", shared_server().url(), prefix, "4", "300", "5000"}));
    ASSERT_GT(workers.back(), 0);
  }
  for (pid_t p : workers) EXPECT_EQ(cachet::test::wait_exit(p), 0);
  // Each loader run increments "<prefix>runs" (see lock_worker.cpp).
  EXPECT_EQ(shared_server().command({"GET", prefix + "runs"}), "1");
}

TEST(LoadingLock, DeadHolderBlocksOthersAtMostLockTimeout) {
  REQUIRE_REDIS();
  const std::string prefix = cachet::test::unique_prefix();
  // A worker takes the lock and hangs in its loader; it is killed there.
  pid_t holder = spawn_worker({"hang", shared_server().url(), prefix, "1", "60000", "1000"});
  ASSERT_GT(holder, 0);
  ASSERT_TRUE(eventually([&] { return shared_server().command({"GET", prefix + "runs"}) == "1"; }));
  kill(holder, SIGKILL);
  cachet::test::wait_exit(holder);

  auto o = redis_options();
  o.key_prefix = prefix;
  cachet::RedisCache c(o);
  LoadOptions lo;
  lo.distributed_lock = true;
  lo.lock_timeout = 1s;
  const auto start = Clock::now();
  EXPECT_EQ(c.get_or_set("shared", [] { return std::string("mine"); }, lo), "mine");
  EXPECT_LT(Clock::now() - start, lo.lock_timeout + kSlack);
  EXPECT_EQ(c.stats().lock_waits, 1u);
}

TEST(LoadingLock, InProcessCachesNeedNoLockKey) {
  cachet::SimpleCache c;
  LoadOptions lo;
  lo.distributed_lock = true;
  EXPECT_EQ(c.get_or_set("k", [] { return std::string("v"); }, lo), "v");
  EXPECT_EQ(c.stats().lock_waits, 0u);
  EXPECT_EQ(c.stats().items, 1u);  // the value only: no lock entry
}

TEST(LoadingLock, ClearRemovesLockKeys) {
  REQUIRE_REDIS();
  auto o = redis_options();
  cachet::RedisCache c(o);
  ASSERT_EQ(c.try_lock("\xFF" "cachet-lock:k", "token", Ttl(60s)), cachet::LockResult::acquired);
  EXPECT_EQ(c.try_lock("\xFF" "cachet-lock:k", "other", Ttl(60s)), cachet::LockResult::held_elsewhere);
  c.unlock("\xFF" "cachet-lock:k", "other");  // not the holder: nothing happens
  EXPECT_EQ(c.try_lock("\xFF" "cachet-lock:k", "other", Ttl(60s)), cachet::LockResult::held_elsewhere);
  EXPECT_TRUE(c.clear());
  EXPECT_EQ(c.try_lock("\xFF" "cachet-lock:k", "other", Ttl(60s)), cachet::LockResult::acquired);
  c.unlock("\xFF" "cachet-lock:k", "other");
  EXPECT_EQ(c.try_lock("\xFF" "cachet-lock:k", "third", Ttl(60s)), cachet::LockResult::acquired);
}

}  // namespace
