// NullCache: stores nothing; each verb returns what null_cache.hpp documents.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

#include "cachet/cachet.hpp"

using namespace std::chrono_literals;

TEST(NullCache, StoresNothing) {
  cachet::NullCache c;
  EXPECT_EQ(c.backend(), "null");
  EXPECT_TRUE(c.set("k", "v"));
  EXPECT_FALSE(c.get("k").has_value());
  EXPECT_TRUE(c.add("k", "v"));
  EXPECT_FALSE(c.contains("k"));
  EXPECT_FALSE(c.remove("k"));
  EXPECT_EQ(c.get_many({"a", "b"}), (std::vector<std::optional<std::string>>{std::nullopt, std::nullopt}));
  EXPECT_TRUE(c.set_many({{"a", "1"}, {"b", "2"}}));
  EXPECT_EQ(c.remove_many({"a", "b"}), 0u);
  EXPECT_FALSE(c.increment("n").has_value());
  EXPECT_FALSE(c.decrement("n").has_value());
  EXPECT_FALSE(c.ttl("k").has_value());
  EXPECT_FALSE(c.touch("k", 10s));
  EXPECT_TRUE(c.clear());
  EXPECT_TRUE(c.ping());
  EXPECT_FALSE(c.get_as<int>("k").has_value());
  EXPECT_TRUE(c.set_as("k", 42));
}

TEST(NullCache, GetOrSetRunsTheLoaderEachTime) {
  cachet::NullCache c;
  int calls = 0;
  EXPECT_EQ(c.get_or_set("k", [&] { ++calls; return std::string("v"); }), "v");
  EXPECT_EQ(c.get_or_set("k", [&] { ++calls; return std::string("v"); }), "v");
  EXPECT_EQ(calls, 2);
}

TEST(NullCache, CountsMisses) {
  cachet::NullCache c;
  c.get("a");
  c.get_many({"b", "c"});
  auto s = c.stats();
  EXPECT_EQ(s.misses, 3u);
  EXPECT_EQ(s.hits, 0u);
  EXPECT_EQ(s.errors, 0u);
}
