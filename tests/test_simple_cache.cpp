// SimpleCache: the conformance suite, plus what only the in-memory engine
// promises (capacity bounds, eviction policy, expiry reclamation, options).
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "cachet/cachet.hpp"
#include "support/conformance.hpp"

namespace {

struct SimpleFixture {
  static std::unique_ptr<cachet::Cache> make(cachet::Ttl default_timeout) {
    cachet::SimpleCacheOptions o;
    o.default_timeout = default_timeout;
    return std::make_unique<cachet::SimpleCache>(o);
  }
};

// The same contract with one shard and a tight budget: every path that
// evicts or reserves bytes runs in the suite too.
struct SimpleOneShardFixture {
  static std::unique_ptr<cachet::Cache> make(cachet::Ttl default_timeout) {
    cachet::SimpleCacheOptions o;
    o.default_timeout = default_timeout;
    o.shards = 1;
    o.max_items = 1000;
    o.max_bytes = 1 << 20;
    return std::make_unique<cachet::SimpleCache>(o);
  }
};

}  // namespace

using SimpleFixtures = ::testing::Types<SimpleFixture, SimpleOneShardFixture>;
INSTANTIATE_TYPED_TEST_SUITE_P(Simple, CacheConformance, SimpleFixtures);

namespace {

using namespace std::chrono_literals;

cachet::SimpleCacheOptions opts(std::size_t items, std::size_t bytes, std::size_t shards = 1) {
  cachet::SimpleCacheOptions o;
  o.max_items = items;
  o.max_bytes = bytes;
  o.shards = shards;
  o.default_timeout = cachet::Ttl::never();
  return o;
}

std::string message_of(const cachet::SimpleCacheOptions& o) {
  try {
    cachet::SimpleCache c(o);
  } catch (const cachet::ConfigError& e) {
    return e.what();
  }
  return "no exception";
}

}  // namespace

TEST(SimpleCacheOptions, RejectsZeroAndDefaultWithAClearMessage) {
  auto o = cachet::SimpleCacheOptions{};
  o.max_items = 0;
  auto m = message_of(o);
  EXPECT_NE(m.find("max_items = 0"), std::string::npos) << m;
  EXPECT_NE(m.find(">= 1"), std::string::npos) << m;

  o = cachet::SimpleCacheOptions{};
  o.max_bytes = 0;
  m = message_of(o);
  EXPECT_NE(m.find("max_bytes = 0"), std::string::npos) << m;
  EXPECT_NE(m.find(">= 1"), std::string::npos) << m;

  o = cachet::SimpleCacheOptions{};
  o.default_timeout = cachet::Ttl{};
  m = message_of(o);
  EXPECT_NE(m.find("default_timeout"), std::string::npos) << m;

  EXPECT_THROW(cachet::SimpleCache(opts(0, 1)), cachet::Error);  // catchable as the base class
}

TEST(SimpleCacheOptions, DefaultsAndShardChoice) {
  cachet::SimpleCache c;
  EXPECT_EQ(c.backend(), "simple");
  EXPECT_EQ(c.options().max_items, 10'000u);
  EXPECT_EQ(c.options().max_bytes, std::size_t{64} << 20);
  EXPECT_EQ(c.options().default_timeout, cachet::Ttl(300s));
  const auto n = c.options().shards;
  EXPECT_GE(n, 1u);
  EXPECT_EQ(n & (n - 1), 0u) << "power of two";
  EXPECT_LE(n, 64u);

  EXPECT_EQ(cachet::SimpleCache(opts(1000, 1 << 20, 3)).options().shards, 4u);   // rounded up
  EXPECT_EQ(cachet::SimpleCache(opts(3, 1 << 20, 16)).options().shards, 2u);     // never more than max_items
  EXPECT_EQ(cachet::SimpleCache(opts(1, 1 << 20, 0)).options().shards, 1u);
  EXPECT_EQ(cachet::SimpleCache(opts(10, 1 << 20, 0)).options().shards, 1u);     // small caches: one shard
}

TEST(SimpleCacheCapacity, NeverMoreThanMaxItems) {
  for (std::size_t shards : {1u, 4u}) {
    cachet::SimpleCache c(opts(100, 1 << 20, shards));
    for (int i = 0; i < 1000; ++i) {
      ASSERT_TRUE(c.set("k" + std::to_string(i), "v"));
      ASSERT_LE(c.stats().items, 100u);
      ASSERT_EQ(c.get("k" + std::to_string(i)), std::optional<std::string>("v"));  // the newest is there
    }
    auto s = c.stats();
    EXPECT_EQ(s.items + s.evictions, 1000u);
    EXPECT_EQ(s.items, 100u);  // the split of max_items over the shards is exact
    EXPECT_EQ(s.expirations, 0u);
    EXPECT_EQ(s.bytes, s.items * 5u);  // "kNNN" + "v" = 5 bytes for i >= 100
  }
}

TEST(SimpleCacheCapacity, NeverMoreThanMaxBytes) {
  cachet::SimpleCache c(opts(100'000, 10'000, 4));
  std::uint32_t rng = 7;
  for (int i = 0; i < 3000; ++i) {
    rng = rng * 1664525u + 1013904223u;
    const std::string value((rng >> 8) % 300, 'x');
    ASSERT_TRUE(c.set("key" + std::to_string(i % 500), value));
    ASSERT_LE(c.stats().bytes, 10'000u);
  }
  // The gauge matches what is actually stored.
  std::uint64_t sum = 0;
  for (int i = 0; i < 500; ++i) {
    const std::string k = "key" + std::to_string(i);
    if (auto v = c.get(k)) sum += k.size() + v->size();
  }
  EXPECT_EQ(c.stats().bytes, sum);
  EXPECT_GT(c.stats().evictions, 0u);
}

TEST(SimpleCacheCapacity, ValueLargerThanMaxBytesIsRefused) {
  cachet::SimpleCache c(opts(100, 1000, 1));
  EXPECT_TRUE(c.set("small", "v"));
  EXPECT_FALSE(c.set("big", std::string(1000, 'x')));  // 3 + 1000 > 1000
  EXPECT_FALSE(c.contains("big"));
  EXPECT_FALSE(c.add("big", std::string(1000, 'x')));
  EXPECT_EQ(c.get("small"), std::optional<std::string>("v"));  // nothing was evicted for it
  EXPECT_EQ(c.stats().sets, 1u);
  EXPECT_TRUE(c.set("big", std::string(997, 'x')));  // exactly max_bytes
  EXPECT_EQ(c.stats().bytes, 1000u);
  EXPECT_FALSE(c.contains("small"));
}

// A value that fits max_bytes but not what its own shard holds evicts from the
// other shards; the global bound holds throughout.
TEST(SimpleCacheCapacity, BigValueEvictsAcrossShards) {
  cachet::SimpleCache c(opts(1000, 4096, 8));
  for (int i = 0; i < 400; ++i) ASSERT_TRUE(c.set("k" + std::to_string(i), std::string(20, 'v')));
  ASSERT_LE(c.stats().bytes, 4096u);
  ASSERT_GT(c.stats().bytes, 3000u);
  const std::string big(4000, 'B');
  EXPECT_TRUE(c.set("big", big));
  EXPECT_EQ(c.get("big"), std::optional<std::string>(big));
  EXPECT_LE(c.stats().bytes, 4096u);
  // Growing an existing entry beyond what the rest frees fails cleanly.
  EXPECT_FALSE(c.set("big", std::string(5000, 'B')));
  EXPECT_EQ(c.get("big"), std::optional<std::string>(big));
}

TEST(SimpleCacheCapacity, BoundsHoldUnderConcurrentWriters) {
  cachet::SimpleCache c(opts(500, 20'000, 4));
  std::atomic<bool> stop{false};
  std::atomic<int> violations{0};
  std::thread monitor([&] {
    while (!stop.load()) {
      auto s = c.stats();
      if (s.items > 500 || s.bytes > 20'000) violations.fetch_add(1);
    }
  });
  std::vector<std::thread> writers;
  for (int t = 0; t < 3; ++t) {
    writers.emplace_back([&, t] {
      std::uint32_t rng = 99u + static_cast<std::uint32_t>(t);
      for (int i = 0; i < 20'000; ++i) {
        rng = rng * 1664525u + 1013904223u;
        const std::string k = "k" + std::to_string((rng >> 8) % 2000);
        switch (rng % 5) {
          case 0: c.remove(k); break;
          case 1: c.increment(k); break;
          case 2: c.get(k); break;
          default: c.set(k, std::string((rng >> 4) % 400, 'v'), (rng & 64) ? cachet::Ttl(5ms) : cachet::Ttl::never());
        }
      }
    });
  }
  for (auto& w : writers) w.join();
  stop.store(true);
  monitor.join();
  EXPECT_EQ(violations.load(), 0);
  auto s = c.stats();
  EXPECT_LE(s.items, 500u);
  EXPECT_LE(s.bytes, 20'000u);
}

// SIEVE: entries that were hit survive a stream of one-off keys longer than
// the cache (LRU would have dropped every one of them).
TEST(SimpleCacheEviction, HitEntriesSurviveAOneOffScan) {
  cachet::SimpleCache c(opts(100, 1 << 20, 1));
  for (int i = 0; i < 50; ++i) c.set("hot" + std::to_string(i), "v");
  for (int i = 0; i < 50; ++i) ASSERT_TRUE(c.get("hot" + std::to_string(i)));
  for (int i = 0; i < 300; ++i) c.set("scan" + std::to_string(i), "v");
  for (int i = 0; i < 50; ++i) EXPECT_TRUE(c.contains("hot" + std::to_string(i))) << i;
  EXPECT_EQ(c.stats().evictions, 250u);
  EXPECT_TRUE(c.contains("scan299"));
}

TEST(SimpleCacheEviction, NotHitEntriesLeaveOldestFirst) {
  cachet::SimpleCache c(opts(10, 1 << 20, 1));
  for (int i = 0; i < 10; ++i) c.set("k" + std::to_string(i), "v");
  c.get("k0");
  c.set("new1", "v");  // evicts k1: k0 was hit
  c.set("new2", "v");  // evicts k2
  EXPECT_TRUE(c.contains("k0"));
  EXPECT_FALSE(c.contains("k1"));
  EXPECT_FALSE(c.contains("k2"));
  EXPECT_TRUE(c.contains("k3"));
}

TEST(SimpleCacheExpiry, ExpiredEntryIsNeverReturned) {
  cachet::SimpleCache c(opts(100, 1 << 20, 1));
  for (int round = 0; round < 3; ++round) {
    ASSERT_TRUE(c.set("k", "v", 20ms));
    const auto stored = std::chrono::steady_clock::now();
    for (;;) {
      const auto before = std::chrono::steady_clock::now();
      const bool hit = c.get("k").has_value();
      if (before >= stored + 20ms) {
        EXPECT_FALSE(hit) << "returned after its expiry";
        break;
      }
      if (before > stored + 5s) break;
    }
  }
}

TEST(SimpleCacheExpiry, HugeTtlSaturatesInsteadOfOverflowing) {
  // The largest TTLs overflow a nanosecond deadline; they must mean "far in
  // the future", never a deadline in the past (an entry that is gone at once).
  cachet::SimpleCache c(opts(100, 1 << 20, 1));
  for (const cachet::Ttl ttl : {cachet::Ttl(std::chrono::hours::max()), cachet::Ttl(std::chrono::milliseconds::max()),
                                cachet::Ttl(std::chrono::hours(24 * 365 * 300))}) {
    ASSERT_TRUE(c.set("k", "v", ttl)) << ttl.to_string();
    EXPECT_EQ(c.get("k"), std::optional<std::string>("v")) << ttl.to_string();
    const auto left = c.ttl("k");
    ASSERT_TRUE(left.has_value()) << ttl.to_string();
    EXPECT_GT(left->duration(), std::chrono::hours(24 * 365 * 100)) << ttl.to_string();
  }
}

TEST(SimpleCacheExpiry, ReclaimedWithoutBeingAccessed) {
  cachet::SimpleCache c(opts(1000, 1 << 20, 1));
  for (int i = 0; i < 100; ++i) c.set("short" + std::to_string(i), "v", 30ms);
  std::this_thread::sleep_for(60ms);
  // Nothing reads the expired keys: the per-write sweep (two queue entries
  // per write) reclaims them within a few passes' worth of writes.
  for (int i = 0; i < 200; ++i) c.set("long" + std::to_string(i), "v");
  auto s = c.stats();
  EXPECT_EQ(s.expirations, 100u);
  EXPECT_EQ(s.items, 200u);
  EXPECT_EQ(s.evictions, 0u);
}

TEST(SimpleCacheExpiry, EvictionPrefersExpiredAndCountsThemApart) {
  cachet::SimpleCache c(opts(10, 1 << 20, 1));
  for (int i = 0; i < 5; ++i) c.set("live" + std::to_string(i), "v");
  for (int i = 0; i < 5; ++i) c.set("short" + std::to_string(i), "v", 20ms);
  std::this_thread::sleep_for(40ms);
  EXPECT_EQ(c.get("short0"), std::nullopt);  // reclaimed on access
  EXPECT_FALSE(c.contains("short1"));
  EXPECT_EQ(c.stats().expirations, 2u);
  EXPECT_FALSE(c.remove("short2"));  // expired: nothing to remove
  EXPECT_EQ(c.ttl("short3"), std::nullopt);
  EXPECT_FALSE(c.touch("short4", 10s));
  auto s = c.stats();
  EXPECT_EQ(s.expirations, 5u);
  EXPECT_EQ(s.removes, 0u);
  EXPECT_EQ(s.items, 5u);
  for (int i = 0; i < 5; ++i) EXPECT_TRUE(c.contains("live" + std::to_string(i)));
}

TEST(SimpleCacheBytes, GaugeFollowsOverwritesIncrementsAndClear) {
  cachet::SimpleCache c(opts(100, 1 << 20, 1));
  c.set("k", "12345");
  EXPECT_EQ(c.stats().bytes, 6u);
  c.set("k", "1");
  EXPECT_EQ(c.stats().bytes, 2u);
  c.set("k", std::string(100, 'x'));
  EXPECT_EQ(c.stats().bytes, 101u);
  c.set("n", "99");
  EXPECT_EQ(c.increment("n"), 100);  // grows by one digit
  EXPECT_EQ(c.stats().bytes, 101u + 4u);
  EXPECT_EQ(c.decrement("n", 200), -100);
  EXPECT_EQ(c.stats().bytes, 101u + 5u);
  c.remove("k");
  EXPECT_EQ(c.stats().bytes, 5u);
  EXPECT_EQ(c.stats().items, 1u);
  c.set("a", "b");
  EXPECT_TRUE(c.clear());
  auto s = c.stats();
  EXPECT_EQ(s.items, 0u);
  EXPECT_EQ(s.bytes, 0u);
  EXPECT_EQ(s.evictions, 0u);  // clear is not eviction
  EXPECT_TRUE(c.set("after", "clear"));
  EXPECT_EQ(c.stats().items, 1u);
}

TEST(SimpleCacheIncrement, AcceptsExactlyRedisIntegers) {
  cachet::SimpleCache c(opts(100, 1 << 20, 1));
  for (const char* bad : {"+1", "01", "-0", "-", "0x10", "1e3", "--1"}) {
    c.set("k", bad);
    EXPECT_EQ(c.increment("k"), std::nullopt) << bad;
    EXPECT_EQ(c.get("k"), std::optional<std::string>(bad));
  }
  for (const char* good : {"0", "-1", "7", "-9223372036854775807"}) {
    c.set("k", good);
    EXPECT_TRUE(c.increment("k").has_value()) << good;
  }
}

TEST(SimpleCacheTable, ManyKeysGrowAndShrinkCleanly) {
  // Room to spare: max_items is split per shard, and hashing is not perfectly even.
  cachet::SimpleCache c(opts(60'000, std::size_t{64} << 20, 4));
  for (int i = 0; i < 50'000; ++i) ASSERT_TRUE(c.set("key:" + std::to_string(i), std::to_string(i)));
  EXPECT_EQ(c.stats().items, 50'000u);
  for (int i = 0; i < 50'000; i += 2) ASSERT_TRUE(c.remove("key:" + std::to_string(i)));
  for (int i = 1; i < 50'000; i += 2) ASSERT_EQ(c.get("key:" + std::to_string(i)), std::optional<std::string>(std::to_string(i))) << i;
  for (int i = 0; i < 50'000; i += 2) ASSERT_FALSE(c.contains("key:" + std::to_string(i)));
  EXPECT_EQ(c.stats().evictions, 0u);
  c.clear();
  for (int i = 0; i < 1000; ++i) ASSERT_TRUE(c.set("again:" + std::to_string(i), "v"));
  EXPECT_EQ(c.stats().items, 1000u);
}
