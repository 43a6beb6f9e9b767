// Key isolation, as a property test: several RedisCaches whose prefixes are
// random strings full of glob characters (* ? [ ] \ ^ -), plus keys written
// outside any prefix. clear() on one cache must remove exactly the keys under
// its prefix — checked against a SCAN of the whole database — and nothing else.
//
// Prefixes are built so that they often are prefixes of each other or match
// each other as glob patterns ("a*" vs "ab", "[ab]" vs "a"), which is where an
// unescaped SCAN MATCH / KEYS pattern would delete foreign keys. Bounded: a
// few rounds of a few hundred keys; the seed is printed on failure.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "cachet/cachet.hpp"
#include "support/redis_server.hpp"

using cachet::RedisCache;
using cachet::RedisOptions;
using cachet::test::RedisServer;

namespace {

// Every key in database 0, by repeated SCAN (COUNT 1000) until the cursor is 0.
std::multiset<std::string> scan_all(const RedisServer& server) {
  std::multiset<std::string> keys;
  std::string cursor = "0";
  do {
    // command() flattens the reply: the cursor, then one key per line. Keys
    // written by this test never contain '\n'.
    const std::string reply = server.command({"SCAN", cursor, "COUNT", "1000"});
    std::istringstream in(reply);
    std::getline(in, cursor);
    for (std::string key; std::getline(in, key);) keys.insert(key);
  } while (cursor != "0");
  return keys;
}

std::string random_string(std::mt19937_64& rng, std::size_t min_len, std::size_t max_len) {
  // Glob metacharacters weighted heavily, plus a few letters so that prefixes collide.
  static constexpr char kAlphabet[] = "*?[]\\^-*?[]\\^-ab:";
  std::uniform_int_distribution<std::size_t> len(min_len, max_len);
  std::uniform_int_distribution<std::size_t> pick(0, sizeof kAlphabet - 2);
  std::string s;
  for (std::size_t n = len(rng); n > 0; --n) s += kAlphabet[pick(rng)];
  return s;
}

class KeyIsolation : public ::testing::Test {
 protected:
  void SetUp() override { REQUIRE_REDIS(); }
};

TEST_F(KeyIsolation, ClearRemovesExactlyTheKeysUnderItsPrefix) {
  RedisServer server;
  const std::uint64_t seed = std::random_device{}();
  SCOPED_TRACE("seed " + std::to_string(seed));
  std::mt19937_64 rng(seed);

  for (int round = 0; round < 6; ++round) {
    SCOPED_TRACE("round " + std::to_string(round));
    ASSERT_EQ(server.command({"FLUSHDB"}), "OK");

    // 4-6 caches. Some prefixes extend or shadow another one on purpose.
    std::vector<std::string> prefixes;
    const int n_caches = 4 + static_cast<int>(rng() % 3);
    while (static_cast<int>(prefixes.size()) < n_caches) {
      std::string p;
      const auto mode = rng() % 4;
      if (mode == 0 && !prefixes.empty()) {
        p = prefixes[rng() % prefixes.size()] + random_string(rng, 1, 3);  // a longer prefix under another
      } else if (mode == 1 && !prefixes.empty()) {
        p = prefixes[rng() % prefixes.size()];                              // a shorter one above another
        p.resize(p.size() > 1 ? p.size() - 1 : p.size());
      } else {
        p = random_string(rng, 1, 6);
      }
      if (std::find(prefixes.begin(), prefixes.end(), p) == prefixes.end()) prefixes.push_back(p);
    }

    std::vector<std::unique_ptr<RedisCache>> caches;
    for (const auto& p : prefixes) {
      RedisOptions o = RedisOptions::from_url(server.url());
      o.key_prefix = p;
      o.on_error = cachet::ErrorPolicy::Throw;
      caches.push_back(std::make_unique<RedisCache>(o));
    }

    // Write ~300 keys: through the caches, and raw keys outside any cache.
    std::multiset<std::string> expected;
    std::vector<std::set<std::string>> written(caches.size());  // raw key names per cache
    for (int i = 0; i < 300; ++i) {
      const std::string key = random_string(rng, 0, 5) + std::to_string(i);
      if (rng() % 5 == 0) {
        ASSERT_EQ(server.command({"SET", "outside:" + key, "x"}), "OK");
        expected.insert("outside:" + key);
        continue;
      }
      const std::size_t c = rng() % caches.size();
      ASSERT_TRUE(caches[c]->set(key, "v"));
      const std::string raw = prefixes[c] + key;
      // Two caches may write the same raw key ("a" + "b1" == "ab" + "1"):
      // it exists once in Redis.
      if (expected.count(raw) == 0) expected.insert(raw);
      written[c].insert(raw);
    }
    ASSERT_EQ(scan_all(server), expected);

    // Clear the caches one by one, in random order. After each clear exactly
    // the keys written through that cache are gone — that includes a raw key
    // shared with another cache, which is under both prefixes.
    std::vector<std::size_t> order(caches.size());
    for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::shuffle(order.begin(), order.end(), rng);
    for (const std::size_t c : order) {
      SCOPED_TRACE("clear() of prefix '" + prefixes[c] + "'");
      // Also keys that exist under this prefix without having been written
      // through it (another cache's keys that happen to start with it).
      for (auto it = expected.begin(); it != expected.end();) {
        if (it->compare(0, prefixes[c].size(), prefixes[c]) == 0) {
          it = expected.erase(it);
        } else {
          ++it;
        }
      }
      ASSERT_TRUE(caches[c]->clear());
      const auto actual = scan_all(server);
      std::vector<std::string> lost, left;
      std::set_difference(expected.begin(), expected.end(), actual.begin(), actual.end(), std::back_inserter(lost));
      std::set_difference(actual.begin(), actual.end(), expected.begin(), expected.end(), std::back_inserter(left));
      EXPECT_TRUE(lost.empty()) << lost.size() << " foreign keys deleted, e.g. '" << (lost.empty() ? "" : lost[0])
                                << "'";
      EXPECT_TRUE(left.empty()) << left.size() << " keys under the prefix survived, e.g. '"
                                << (left.empty() ? "" : left[0]) << "'";
      for (const auto& raw : written[c]) EXPECT_EQ(actual.count(raw), 0u) << raw;
      if (!lost.empty() || !left.empty()) return;
    }
    // Only the keys outside every prefix remain.
    for (const auto& k : scan_all(server)) EXPECT_EQ(k.rfind("outside:", 0), 0u) << k;
  }
}

}  // namespace
