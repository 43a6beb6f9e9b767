// The bad-input table, through the public API, on every backend: SimpleCache
// and RedisCache (against a real redis-server) must store what they are given
// or refuse it as documented; NullCache has its own, documented answers.
//
//   keys / values with NUL, CR/LF, 0xFF, invalid UTF-8 -> stored byte-exact, distinct
//   the empty key                                  -> a normal key (decided: allowed everywhere)
//   a 64 MiB value                                 -> stored when the backend can hold it;
//                                                     SimpleCache at the default max_bytes: set
//                                                     returns false, nothing else is lost
//   a negative TTL                                 -> std::invalid_argument, nothing stored
//   a TTL too large for the backend                -> clamped: stored, ttl() finite and huge
//   increment at INT64_MAX                         -> nullopt, value unchanged
//   get_many with 0 keys / 100,000 keys            -> 0 results / 100,000 in order
#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <limits>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "cachet/cachet.hpp"
#include "support/redis_server.hpp"

using namespace std::chrono_literals;
using cachet::Cache;
using cachet::Ttl;
using cachet::test::RedisServer;

namespace {

std::string bytes(const char* s, std::size_t n) { return std::string(s, n); }

// Keys (and values) that a text protocol or a C string would mangle. All distinct.
std::vector<std::pair<std::string, std::string>> nasty_table() {
  return {
      {"empty key", ""},
      {"NUL", bytes("\0", 1)},
      {"two NULs", bytes("\0\0", 2)},
      {"NUL inside", bytes("a\0b", 3)},
      {"NUL at the end", bytes("a\0", 2)},
      {"CR LF", "\r\n"},
      {"LF only", "\n"},
      {"RESP injection", "k\r\nSET injected 1\r\n"},
      {"inline injection", "k\nFLUSHALL\n"},
      {"0xFF", "\xff"},
      {"0xFF 0xFE", "\xff\xfe"},
      {"invalid UTF-8 (lone continuation)", "\x80"},
      {"invalid UTF-8 (truncated)", "\xc3"},
      {"invalid UTF-8 (bad continuation)", "\xc3\x28"},
      {"UTF-16 surrogate in UTF-8", "\xed\xa0\x80"},
      {"overlong NUL", "\xc0\x80"},
      {"valid UTF-8", "\xe2\x82\xac \xf0\x9f\x98\x80"},
      {"glob characters", "*?[]\\^-"},
      {"spaces", " k "},
      {"all 256 bytes", [] {
         std::string s;
         for (int i = 0; i < 256; ++i) s += static_cast<char>(i);
         return s;
       }()},
  };
}

// --- backends ---------------------------------------------------------------

RedisServer& shared_server() {
  static std::unique_ptr<RedisServer> server = std::make_unique<RedisServer>();
  return *server;
}

struct Backend {
  std::string name;
  bool redis = false;
};

std::unique_ptr<Cache> make(const Backend& b, cachet::SimpleCacheOptions simple = {}) {
  if (!b.redis) return std::make_unique<cachet::SimpleCache>(simple);
  auto o = cachet::RedisOptions::from_url(shared_server().url());
  o.key_prefix = cachet::test::unique_prefix();
  o.on_error = cachet::ErrorPolicy::Throw;  // a failure must show, not look like a miss
  // 64 MiB and 100,000-key batches under sanitizers: generous, still bounded.
  o.socket_timeout = 20s;
  return std::make_unique<cachet::RedisCache>(o);
}

class BadInput : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override {
    if (GetParam().redis) {
      REQUIRE_REDIS();
    }
  }
  std::unique_ptr<Cache> cache(cachet::SimpleCacheOptions simple = {}) { return make(GetParam(), simple); }
  // Only for the Redis backend: the raw key as stored on the server.
  std::string raw_key(const Cache& c, const std::string& key) const {
    return static_cast<const cachet::RedisCache&>(c).options().key_prefix + key;
  }
};

INSTANTIATE_TEST_SUITE_P(Backends, BadInput,
                         ::testing::Values(Backend{"simple", false}, Backend{"redis", true}),
                         [](const ::testing::TestParamInfo<Backend>& p) { return p.param.name; });

// --- keys and values ----------------------------------------------------------

TEST_P(BadInput, NastyKeysAreStoredByteExactAndStayDistinct) {
  auto c = cache();
  const auto table = nasty_table();
  // Each key gets a value that names it, so a truncated or merged key shows.
  for (std::size_t i = 0; i < table.size(); ++i) {
    SCOPED_TRACE(table[i].first);
    ASSERT_TRUE(c->set(table[i].second, "value-" + std::to_string(i), 60s));
  }
  for (std::size_t i = 0; i < table.size(); ++i) {
    SCOPED_TRACE(table[i].first);
    const std::string& key = table[i].second;
    EXPECT_EQ(c->get(key), std::optional<std::string>("value-" + std::to_string(i)));
    EXPECT_TRUE(c->contains(key));
    const auto t = c->ttl(key);
    ASSERT_TRUE(t.has_value());
    EXPECT_TRUE(t->is_finite());
    EXPECT_LE(t->duration(), 60s);
    EXPECT_FALSE(c->add(key, "other"));
    EXPECT_TRUE(c->touch(key, 120s));
    if (GetParam().redis) {
      EXPECT_EQ(shared_server().command({"GET", raw_key(*c, key)}), "value-" + std::to_string(i));
    }
  }
  if (GetParam().redis) {
    // The protocol-looking keys went through as data, not as commands.
    EXPECT_EQ(shared_server().command({"EXISTS", "injected"}), "0");
    EXPECT_EQ(shared_server().command({"EXISTS", raw_key(*c, "k")}), "0");
  }
  // Batch verbs with the same keys.
  std::vector<std::string> keys;
  for (const auto& row : table) keys.push_back(row.second);
  const auto values = c->get_many(keys);
  ASSERT_EQ(values.size(), table.size());
  for (std::size_t i = 0; i < table.size(); ++i) {
    EXPECT_EQ(values[i], std::optional<std::string>("value-" + std::to_string(i))) << table[i].first;
  }
  for (std::size_t i = 0; i < table.size(); ++i) {
    SCOPED_TRACE(table[i].first);
    EXPECT_TRUE(c->remove(table[i].second));
    EXPECT_FALSE(c->get(table[i].second).has_value());
    for (std::size_t j = i + 1; j < table.size(); ++j) {
      ASSERT_TRUE(c->contains(table[j].second)) << "removing '" << table[i].first << "' also removed '"
                                                << table[j].first << "'";
    }
  }
}

TEST_P(BadInput, NastyValuesRoundTripByteExact) {
  auto c = cache();
  for (const auto& [name, value] : nasty_table()) {
    SCOPED_TRACE(name);
    ASSERT_TRUE(c->set("v", value));
    const auto got = c->get("v");
    ASSERT_TRUE(got.has_value()) << "an empty value is a hit, not a miss";
    EXPECT_EQ(*got, value);
    if (GetParam().redis) {
      EXPECT_EQ(shared_server().command({"STRLEN", raw_key(*c, "v")}), std::to_string(value.size()));
    }
  }
  std::vector<std::pair<std::string, std::string>> items;
  for (const auto& [name, value] : nasty_table()) items.emplace_back(value, value);  // key == value
  ASSERT_TRUE(c->set_many(items));
  for (const auto& [key, value] : items) EXPECT_EQ(c->get(key), std::optional<std::string>(value));
  EXPECT_EQ(c->remove_many(std::vector<std::string>{items[0].first, items[1].first}), 2u);
}

TEST_P(BadInput, TheEmptyKeyIsANormalKey) {
  auto c = cache();
  EXPECT_FALSE(c->get("").has_value());
  EXPECT_TRUE(c->add("", "first"));
  EXPECT_FALSE(c->add("", "second"));
  EXPECT_EQ(c->get(""), std::optional<std::string>("first"));
  EXPECT_TRUE(c->set("", ""));
  EXPECT_EQ(c->get(""), std::optional<std::string>(""));
  EXPECT_EQ(c->increment("", 1), std::nullopt);  // "" is not an integer
  EXPECT_TRUE(c->set("", "41"));
  EXPECT_EQ(c->increment(""), 42);
  EXPECT_FALSE(c->contains(bytes("\0", 1)));  // "" and "\0" are different keys
  if (GetParam().redis) {
    // Stored as exactly the prefix.
    EXPECT_EQ(shared_server().command({"GET", raw_key(*c, "")}), "42");
  }
  EXPECT_TRUE(c->remove(""));
  EXPECT_FALSE(c->contains(""));
  EXPECT_EQ(c->get_or_set("", [] { return std::string("loaded"); }), "loaded");
  EXPECT_EQ(c->get(""), std::optional<std::string>("loaded"));
}

// --- size ---------------------------------------------------------------------

constexpr std::size_t kMiB = std::size_t{1} << 20;

std::string big_value() {
  std::string v(64 * kMiB, '\0');
  for (std::size_t i = 0; i < v.size(); i += 4099) v[i] = static_cast<char>('a' + i % 26);
  v.back() = '\xff';
  return v;
}

TEST_P(BadInput, SixtyFourMebibyteValueIsStoredWhenItFits) {
  cachet::SimpleCacheOptions roomy;
  roomy.max_bytes = 65 * kMiB;
  auto c = cache(roomy);
  const std::string v = big_value();
  ASSERT_TRUE(c->set("big", v));
  const auto got = c->get("big");
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->size(), v.size());
  EXPECT_TRUE(*got == v);  // (not EXPECT_EQ: a failure would print 64 MiB)
  EXPECT_TRUE(c->remove("big"));
}

TEST(BadInputSimple, SixtyFourMebibyteValueDoesNotFitTheDefaultBudgetAndNothingElseIsLost) {
  cachet::SimpleCache c;  // default max_bytes: 64 MiB, which cannot hold 64 MiB + a key
  ASSERT_EQ(c.options().max_bytes, 64 * kMiB);
  for (int i = 0; i < 100; ++i) ASSERT_TRUE(c.set("keep" + std::to_string(i), "value" + std::to_string(i)));
  const auto before = c.stats();
  EXPECT_FALSE(c.set("big", big_value()));
  EXPECT_FALSE(c.add("big2", big_value()));
  EXPECT_FALSE(c.contains("big"));
  EXPECT_FALSE(c.contains("big2"));
  for (int i = 0; i < 100; ++i) {
    EXPECT_EQ(c.get("keep" + std::to_string(i)), std::optional<std::string>("value" + std::to_string(i)));
  }
  const auto after = c.stats();
  EXPECT_EQ(after.evictions, before.evictions);
  EXPECT_EQ(after.items, 100u);
  // A value that does fit right below the budget is still accepted.
  EXPECT_TRUE(c.set("k", std::string(kMiB, 'x')));
}

// --- TTLs ---------------------------------------------------------------------

TEST_P(BadInput, NegativeTtlThrowsInvalidArgumentAndStoresNothing) {
  auto c = cache();
  EXPECT_THROW(c->set("k", "v", -1s), std::invalid_argument);
  EXPECT_THROW(c->set("k", "v", -1ns), std::invalid_argument);
  EXPECT_THROW(c->add("k", "v", std::chrono::hours::min()), std::invalid_argument);
  EXPECT_THROW(c->set_many({{"k", "v"}}, std::chrono::duration<double>(-0.5)), std::invalid_argument);
  EXPECT_FALSE(c->contains("k"));
  ASSERT_TRUE(c->set("k", "v", 60s));
  EXPECT_THROW(c->touch("k", -1ms), std::invalid_argument);
  const auto t = c->ttl("k");
  ASSERT_TRUE(t && t->is_finite());
  EXPECT_LE(t->duration(), 60s);
  try {
    (void)Ttl(-5s);
    ADD_FAILURE() << "Ttl(-5s) did not throw";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("negative"), std::string::npos) << e.what();
  }
}

TEST_P(BadInput, TtlTooLargeForTheBackendIsClamped) {
  auto c = cache();
  const std::pair<const char*, Ttl> huge[] = {
      {"hours::max()", std::chrono::hours::max()},
      {"seconds::max()", std::chrono::seconds::max()},
      {"milliseconds::max()", std::chrono::milliseconds::max()},
      {"nanoseconds::max()", std::chrono::nanoseconds::max()},  // ~292 years: representable as is
      {"1e300 s as double", std::chrono::duration<double>(1e300)},
      {"a million years", std::chrono::hours(24 * 365) * 1'000'000},
  };
  for (const auto& [name, ttl] : huge) {
    SCOPED_TRACE(name);
    ASSERT_TRUE(c->set("k", "v", ttl));
    EXPECT_EQ(c->get("k"), std::optional<std::string>("v"));
    const auto t = c->ttl("k");
    ASSERT_TRUE(t.has_value());
    // Sensible: either exactly "never" or a finite remaining time of more than
    // 100 years (clamped to what the backend can represent).
    if (!t->is_never()) {
      EXPECT_TRUE(t->is_finite());
      EXPECT_GT(t->duration(), std::chrono::hours(24 * 365 * 100)) << t->to_string();
    }
    EXPECT_TRUE(c->touch("k", ttl));
    EXPECT_TRUE(c->contains("k"));
    EXPECT_TRUE(c->add("fresh", "v", ttl));
    EXPECT_TRUE(c->contains("fresh"));
    EXPECT_TRUE(c->remove("fresh"));
  }
  EXPECT_TRUE(c->set_many({{"a", "1"}, {"b", "2"}}, std::chrono::hours::max()));
  EXPECT_EQ(c->get_many({"a", "b"}), (std::vector<Cache::Value>{"1", "2"}));
}

// --- increment ----------------------------------------------------------------

TEST_P(BadInput, IncrementAtInt64MaxGivesNulloptAndKeepsTheValue) {
  auto c = cache();
  constexpr auto kMax = std::numeric_limits<std::int64_t>::max();
  constexpr auto kMin = std::numeric_limits<std::int64_t>::min();
  ASSERT_TRUE(c->set("n", std::to_string(kMax)));
  EXPECT_EQ(c->increment("n"), std::nullopt);
  EXPECT_EQ(c->get("n"), std::optional<std::string>(std::to_string(kMax)));
  EXPECT_EQ(c->increment("n", kMax), std::nullopt);
  EXPECT_EQ(c->get("n"), std::optional<std::string>(std::to_string(kMax)));
  EXPECT_EQ(c->increment("n", 0), kMax);
  EXPECT_EQ(c->increment("n", -1), kMax - 1);

  ASSERT_TRUE(c->set("m", std::to_string(kMin)));
  EXPECT_EQ(c->decrement("m"), std::nullopt);
  EXPECT_EQ(c->increment("m", -1), std::nullopt);
  EXPECT_EQ(c->get("m"), std::optional<std::string>(std::to_string(kMin)));
  EXPECT_EQ(c->decrement("fresh", kMin), std::nullopt);  // -INT64_MIN overflows

  // Beyond int64 and not integers at all: nullopt, untouched.
  const std::vector<std::string> not_int64 = {"9223372036854775808", "-9223372036854775809", "1.5", " 1", "1 ",
                                              "0x10", "", std::string("1\0", 2)};
  for (const std::string& bad : not_int64) {
    SCOPED_TRACE(bad);
    ASSERT_TRUE(c->set("bad", bad));
    EXPECT_EQ(c->increment("bad"), std::nullopt);
    EXPECT_EQ(c->get("bad"), std::optional<std::string>(bad));
  }
}

// --- batches ------------------------------------------------------------------

TEST_P(BadInput, GetManyWithNoKeys) {
  auto c = cache();
  EXPECT_TRUE(c->get_many(Cache::KeyList{}).empty());
  EXPECT_TRUE(c->get_many(std::vector<std::string>{}).empty());
  EXPECT_TRUE(c->set_many(Cache::ItemList{}));
  EXPECT_EQ(c->remove_many(Cache::KeyList{}), 0u);
}

TEST_P(BadInput, GetManyWithOneHundredThousandKeysKeepsOrder) {
  cachet::SimpleCacheOptions roomy;
  roomy.max_items = 200'000;
  auto c = cache(roomy);
  constexpr std::size_t kKeys = 100'000;
  std::vector<std::string> keys;
  keys.reserve(kKeys);
  for (std::size_t i = 0; i < kKeys; ++i) keys.push_back("key:" + std::to_string(i));
  // Every even key is stored (value = its index); odd keys are misses.
  std::vector<std::pair<std::string, std::string>> items;
  for (std::size_t i = 0; i < kKeys; i += 2) items.emplace_back(keys[i], std::to_string(i));
  ASSERT_TRUE(c->set_many(items, 120s));
  const auto values = c->get_many(keys);
  ASSERT_EQ(values.size(), kKeys);
  std::size_t wrong = 0;
  for (std::size_t i = 0; i < kKeys; ++i) {
    const Cache::Value expected = i % 2 == 0 ? Cache::Value(std::to_string(i)) : std::nullopt;
    if (values[i] != expected && ++wrong <= 5) ADD_FAILURE() << "index " << i;
  }
  EXPECT_EQ(wrong, 0u);
  const auto s = c->stats();
  EXPECT_EQ(s.hits, kKeys / 2);
  EXPECT_EQ(s.misses, kKeys / 2);
  EXPECT_EQ(c->remove_many(keys), kKeys / 2);
}

// --- NullCache: its own, documented answers -----------------------------------

TEST(BadInputNull, AcceptsEverythingAndStoresNothing) {
  cachet::NullCache c;
  for (const auto& [name, key] : nasty_table()) {
    SCOPED_TRACE(name);
    EXPECT_TRUE(c.set(key, key));
    EXPECT_FALSE(c.get(key).has_value());
    EXPECT_TRUE(c.add(key, key));
    EXPECT_FALSE(c.contains(key));
    EXPECT_FALSE(c.remove(key));
    EXPECT_FALSE(c.ttl(key).has_value());
    EXPECT_FALSE(c.touch(key, 1s));
  }
  EXPECT_TRUE(c.set("big", big_value()));
  EXPECT_FALSE(c.get("big").has_value());
  EXPECT_THROW(c.set("k", "v", -1s), std::invalid_argument);
  EXPECT_TRUE(c.set("k", "v", std::chrono::hours::max()));
  EXPECT_TRUE(c.set("n", std::to_string(std::numeric_limits<std::int64_t>::max())));
  EXPECT_EQ(c.increment("n"), std::nullopt);
  EXPECT_TRUE(c.get_many(Cache::KeyList{}).empty());
  std::vector<std::string> keys(100'000);
  for (std::size_t i = 0; i < keys.size(); ++i) keys[i] = std::to_string(i);
  const auto values = c.get_many(keys);
  ASSERT_EQ(values.size(), keys.size());
  for (const auto& v : values) ASSERT_FALSE(v.has_value());
  EXPECT_EQ(c.stats().misses, 100'000u + nasty_table().size() + 1);
}

}  // namespace
