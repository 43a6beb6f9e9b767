// The typed conformance suite: the Cache contract (include/cachet/cache.hpp)
// that every storing backend must pass, written once and run against each.
//
// HOW TO RUN IT AGAINST A BACKEND
//
//   #include "support/conformance.hpp"
//
//   struct MyFixture {
//     // REQUIRED. A fresh, empty cache whose default timeout is
//     // `default_timeout` (cachet::Ttl::never() = entries without a Ttl never expire).
//     // Every call must return a cache that shares no keys with the caches of
//     // earlier calls (Redis: a unique key prefix per call), because tests run
//     // one after another against the same server and some tests use two
//     // caches at once (clear() of one must leave the other intact).
//     // Return nullptr to skip the test (e.g. redis-server is not installed
//     // and CACHET_SKIP_REDIS_TESTS=1); call ADD_FAILURE() first if a missing
//     // backend should fail instead.
//     static std::unique_ptr<cachet::Cache> make(cachet::Ttl default_timeout);
//
//     // OPTIONAL. Called once before / after all tests of the suite for this
//     // fixture (start / stop a server here; or start one lazily in make()).
//     static void SetUpTestSuite();
//     static void TearDownTestSuite();
//
//     // OPTIONAL. What ping() must return (default true). A FallbackCache
//     // serving from memory while its breaker is open reports false.
//     static constexpr bool kPingHealthy = false;
//   };
//
//   using MyFixtures = ::testing::Types<MyFixture>;
//   INSTANTIATE_TYPED_TEST_SUITE_P(Mine, CacheConformance, MyFixtures);
//
// The suite checks only behaviour common to all storing backends: every verb,
// TTL expiry (one test sleeps ~1.3 s), binary and empty keys and values,
// increment/decrement including overflow and non-integers, typed round trips,
// the batch verbs with braced lists / vectors / no keys, get_or_set
// single-flight and loader exceptions, concurrency (mixed verbs, lost-update
// free increments, exactly one add winner) and the operation counters of
// stats() (hits, misses, sets, removes). Backend-specific behaviour (capacity,
// evictions, options validation, failure handling) belongs in the backend's
// own test file. The whole suite takes about 2-3 s per backend.
#pragma once

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <limits>
#include <memory>
#include <mutex>
#include <optional>
#include <ostream>
#include <stdexcept>
#include <string>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

#include "cachet/cachet.hpp"

namespace cachet {
/// Lets gtest print a Ttl in failure messages ("1500ms", "never").
inline void PrintTo(const Ttl& ttl, std::ostream* os) { *os << ttl.to_string(); }
}  // namespace cachet

// Everything below is at global scope so that INSTANTIATE_TYPED_TEST_SUITE_P
// works from any test file without namespace qualification.
namespace conformance_detail {

template <class F, class = void>
struct HasSetUp : std::false_type {};
template <class F>
struct HasSetUp<F, std::void_t<decltype(F::SetUpTestSuite())>> : std::true_type {};
template <class F, class = void>
struct PingHealthy : std::true_type {};
template <class F>
struct PingHealthy<F, std::void_t<decltype(F::kPingHealthy)>> : std::bool_constant<F::kPingHealthy> {};
template <class F, class = void>
struct HasTearDown : std::false_type {};
template <class F>
struct HasTearDown<F, std::void_t<decltype(F::TearDownTestSuite())>> : std::true_type {};

/// Lets N threads start their timed section together.
class StartLine {
 public:
  explicit StartLine(int n) : waiting_(n) {}
  void arrive_and_wait() {
    std::unique_lock<std::mutex> lock(mu_);
    if (--waiting_ == 0) {
      cv_.notify_all();
      return;
    }
    cv_.wait(lock, [&] { return waiting_ == 0; });
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  int waiting_;
};

inline std::string bytes(std::initializer_list<unsigned char> b) {
  return std::string(b.begin(), b.end());
}

}  // namespace conformance_detail

using namespace std::chrono_literals;  // NOLINT: test-only header, the tests read better with 1s / 300ms

template <class Fixture>
class CacheConformance : public ::testing::Test {
 public:
  static void SetUpTestSuite() {
    if constexpr (conformance_detail::HasSetUp<Fixture>::value) Fixture::SetUpTestSuite();
  }
  static void TearDownTestSuite() {
    if constexpr (conformance_detail::HasTearDown<Fixture>::value) Fixture::TearDownTestSuite();
  }

 protected:
  void SetUp() override {
    cache_ = Fixture::make(cachet::Ttl::never());
    if (!cache_) GTEST_SKIP() << "backend unavailable";
  }

  /// A second, independent cache (nullptr → the test should return).
  std::unique_ptr<cachet::Cache> another(cachet::Ttl default_timeout) {
    auto c = Fixture::make(default_timeout);
    if (!c) ADD_FAILURE() << "the fixture returned a first cache but no second one";
    return c;
  }

  cachet::Cache& cache() { return *cache_; }

  std::unique_ptr<cachet::Cache> cache_;
};

TYPED_TEST_SUITE_P(CacheConformance);

namespace conformance_detail {
using Value = std::optional<std::string>;
using Values = std::vector<Value>;
}  // namespace conformance_detail

TYPED_TEST_P(CacheConformance, SetGetRemoveContains) {
  cachet::Cache& c = this->cache();
  EXPECT_FALSE(c.backend().empty());
  EXPECT_EQ(c.ping(), conformance_detail::PingHealthy<TypeParam>::value);
  EXPECT_EQ(c.get("k"), std::nullopt);
  EXPECT_FALSE(c.contains("k"));
  EXPECT_TRUE(c.set("k", "v1"));
  EXPECT_EQ(c.get("k"), conformance_detail::Value("v1"));
  EXPECT_TRUE(c.contains("k"));
  EXPECT_TRUE(c.set("k", "v2"));  // overwrite
  EXPECT_EQ(c.get("k"), conformance_detail::Value("v2"));
  EXPECT_TRUE(c.remove("k"));
  EXPECT_FALSE(c.remove("k"));
  EXPECT_EQ(c.get("k"), std::nullopt);
  EXPECT_FALSE(c.contains("k"));
}

TYPED_TEST_P(CacheConformance, EmptyValueIsAHitAndEmptyKeyIsAKey) {
  cachet::Cache& c = this->cache();
  EXPECT_TRUE(c.set("empty", ""));
  EXPECT_EQ(c.get("empty"), conformance_detail::Value(""));
  EXPECT_TRUE(c.contains("empty"));
  EXPECT_EQ(c.get("missing"), std::nullopt);

  EXPECT_TRUE(c.set("", "value of the empty key"));
  EXPECT_EQ(c.get(""), conformance_detail::Value("value of the empty key"));
  EXPECT_EQ(c.get("empty"), conformance_detail::Value(""));
  EXPECT_TRUE(c.remove(""));
  EXPECT_EQ(c.get(""), std::nullopt);
}

TYPED_TEST_P(CacheConformance, BinaryKeysAndValues) {
  using conformance_detail::bytes;
  cachet::Cache& c = this->cache();
  const std::string k1("a\0b", 3), k2("a\0c", 3), k3 = "line\r\nbreak", k4 = bytes({0xFF, 0xFE, 0x00, 0x80});
  const std::string v1("\0\0\0", 3), v2 = "x\r\n$3\r\nSET\r\n", v3 = bytes({0xFF, 0x00, 0xC3, 0x28, 0x0A});
  std::string big(200'000, '\0');
  for (std::size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>(i * 131 % 256);

  EXPECT_TRUE(c.set(k1, v1));
  EXPECT_TRUE(c.set(k2, v2));
  EXPECT_TRUE(c.set(k3, v3));
  EXPECT_TRUE(c.set(k4, big));
  EXPECT_EQ(c.get(k1), conformance_detail::Value(v1));
  EXPECT_EQ(c.get(k2), conformance_detail::Value(v2));  // NUL inside a key does not truncate it
  EXPECT_EQ(c.get(k3), conformance_detail::Value(v3));
  EXPECT_EQ(c.get(k4), conformance_detail::Value(big));
  EXPECT_EQ(c.get(std::string("a")), std::nullopt);
  EXPECT_EQ(c.get_many({k1, k2, k3}), (conformance_detail::Values{v1, v2, v3}));
  EXPECT_TRUE(c.add(std::string("\0", 1), v3));
  EXPECT_EQ(c.get(std::string("\0", 1)), conformance_detail::Value(v3));
  EXPECT_EQ(c.remove_many({k1, k2}), 2u);
  EXPECT_EQ(c.get(k3), conformance_detail::Value(v3));
}

TYPED_TEST_P(CacheConformance, AddStoresOnlyWhenAbsent) {
  cachet::Cache& c = this->cache();
  EXPECT_TRUE(c.add("k", "first"));
  EXPECT_FALSE(c.add("k", "second"));
  EXPECT_EQ(c.get("k"), conformance_detail::Value("first"));
  EXPECT_TRUE(c.remove("k"));
  EXPECT_TRUE(c.add("k", "third"));
  EXPECT_EQ(c.get("k"), conformance_detail::Value("third"));
  EXPECT_TRUE(c.set("e", ""));
  EXPECT_FALSE(c.add("e", "x"));  // an empty value is present
  EXPECT_EQ(c.get("e"), conformance_detail::Value(""));
}

TYPED_TEST_P(CacheConformance, TtlAndTouch) {
  cachet::Cache& c = this->cache();  // default timeout: never
  EXPECT_EQ(c.ttl("missing"), std::nullopt);
  EXPECT_FALSE(c.touch("missing", 10s));
  EXPECT_FALSE(c.contains("missing"));  // touch does not create

  EXPECT_TRUE(c.set("forever", "v"));
  EXPECT_EQ(c.ttl("forever"), cachet::Ttl::never());
  EXPECT_TRUE(c.set("zero", "v", 0s));
  EXPECT_EQ(c.ttl("zero"), cachet::Ttl::never());
  EXPECT_TRUE(c.set("explicit_never", "v", cachet::Ttl::never()));
  EXPECT_EQ(c.ttl("explicit_never"), cachet::Ttl::never());

  EXPECT_TRUE(c.set("minute", "v", 60s));
  auto t = c.ttl("minute");
  ASSERT_TRUE(t.has_value());
  ASSERT_TRUE(t->is_finite());
  EXPECT_LE(t->duration(), 60'000ms);
  EXPECT_GT(t->duration(), 50'000ms);

  EXPECT_TRUE(c.set("ms", "v", 1500ms));
  t = c.ttl("ms");
  ASSERT_TRUE(t && t->is_finite());
  EXPECT_LE(t->duration(), 1500ms);
  EXPECT_GT(t->duration(), 500ms);

  EXPECT_TRUE(c.touch("minute", 3600s));
  t = c.ttl("minute");
  ASSERT_TRUE(t && t->is_finite());
  EXPECT_GT(t->duration(), 3000s);
  EXPECT_EQ(c.get("minute"), conformance_detail::Value("v"));  // touch keeps the value

  EXPECT_TRUE(c.touch("minute", cachet::Ttl::never()));
  EXPECT_EQ(c.ttl("minute"), cachet::Ttl::never());
  EXPECT_TRUE(c.touch("forever", 60s));
  t = c.ttl("forever");
  ASSERT_TRUE(t && t->is_finite());
  EXPECT_LE(t->duration(), 60s);

  // touch with the default Ttl applies the cache's default timeout.
  std::unique_ptr<cachet::Cache> d = this->another(300s);
  if (!d) return;
  EXPECT_TRUE(d->set("k", "v", cachet::Ttl::never()));
  EXPECT_EQ(d->ttl("k"), cachet::Ttl::never());
  EXPECT_TRUE(d->touch("k"));
  t = d->ttl("k");
  ASSERT_TRUE(t && t->is_finite());
  EXPECT_LE(t->duration(), 300s);
  EXPECT_GT(t->duration(), 290s);
  // set without a Ttl uses the default timeout too.
  EXPECT_TRUE(d->set("k2", "v"));
  t = d->ttl("k2");
  ASSERT_TRUE(t && t->is_finite());
  EXPECT_GT(t->duration(), 290s);
  // Overwriting with set replaces the expiry.
  EXPECT_TRUE(d->set("k2", "v", cachet::Ttl::never()));
  EXPECT_EQ(d->ttl("k2"), cachet::Ttl::never());
}

// The one test that waits for entries to expire: everything that expires is
// set up first, then a single ~1.3 s sleep.
TYPED_TEST_P(CacheConformance, EntriesExpire) {
  cachet::Cache& c = this->cache();  // default timeout: never
  std::unique_ptr<cachet::Cache> d = this->another(1s);
  if (!d) return;

  EXPECT_TRUE(c.set("short", "v", 1s));
  EXPECT_TRUE(c.set("forever", "v", 0s));
  EXPECT_TRUE(c.set("no_ttl", "v"));  // default: never
  EXPECT_TRUE(c.add("added", "v", 1s));
  EXPECT_TRUE(c.set_many({{"m1", "1"}, {"m2", "2"}}, 1s));
  EXPECT_TRUE(c.set("touched_short", "v", 60s));
  EXPECT_TRUE(c.touch("touched_short", 1s));
  EXPECT_TRUE(c.set("touched_long", "v", 1s));
  EXPECT_TRUE(c.touch("touched_long", cachet::Ttl::never()));
  EXPECT_TRUE(c.set("counter", "10", 1s));
  EXPECT_EQ(c.increment("counter", 5), 15);  // keeps its 1 s expiry
  EXPECT_TRUE(c.set("will_be_added_again", "old", 1s));

  EXPECT_TRUE(d->set("default", "v"));  // default timeout 1 s
  EXPECT_EQ(d->increment("new_counter"), 1);  // created with the default timeout
  EXPECT_TRUE(d->set("kept", "v", cachet::Ttl::never()));
  auto t = d->ttl("new_counter");
  ASSERT_TRUE(t && t->is_finite());
  EXPECT_LE(t->duration(), 1000ms);

  std::this_thread::sleep_for(1300ms);

  EXPECT_EQ(c.get("short"), std::nullopt);
  EXPECT_FALSE(c.contains("short"));
  EXPECT_EQ(c.ttl("short"), std::nullopt);
  EXPECT_FALSE(c.touch("short", 60s));
  EXPECT_EQ(c.get("added"), std::nullopt);
  EXPECT_EQ(c.get_many({"m1", "m2", "forever"}), (conformance_detail::Values{std::nullopt, std::nullopt, "v"}));
  EXPECT_EQ(c.get("touched_short"), std::nullopt);
  EXPECT_EQ(c.get("touched_long"), conformance_detail::Value("v"));
  EXPECT_EQ(c.get("counter"), std::nullopt);
  EXPECT_EQ(c.get("forever"), conformance_detail::Value("v"));
  EXPECT_EQ(c.get("no_ttl"), conformance_detail::Value("v"));
  // An expired entry counts as absent for add, and increment starts over.
  EXPECT_TRUE(c.add("will_be_added_again", "new"));
  EXPECT_EQ(c.get("will_be_added_again"), conformance_detail::Value("new"));
  EXPECT_EQ(c.increment("counter", 2), 2);
  EXPECT_FALSE(c.remove("m1"));  // already gone

  EXPECT_EQ(d->get("default"), std::nullopt);
  EXPECT_EQ(d->get("new_counter"), std::nullopt);
  EXPECT_EQ(d->get("kept"), conformance_detail::Value("v"));
}

TYPED_TEST_P(CacheConformance, IncrementAndDecrement) {
  constexpr auto kMax = std::numeric_limits<std::int64_t>::max();
  constexpr auto kMin = std::numeric_limits<std::int64_t>::min();
  cachet::Cache& c = this->cache();
  EXPECT_EQ(c.increment("n"), 1);  // a missing key starts from 0
  EXPECT_EQ(c.get("n"), conformance_detail::Value("1"));
  EXPECT_EQ(c.increment("n", 41), 42);
  EXPECT_EQ(c.decrement("n"), 41);
  EXPECT_EQ(c.decrement("n", 50), -9);
  EXPECT_EQ(c.get("n"), conformance_detail::Value("-9"));
  EXPECT_EQ(c.get_as<std::int64_t>("n"), -9);
  EXPECT_EQ(c.increment("n", 0), -9);
  EXPECT_EQ(c.decrement("fresh", 3), -3);
  EXPECT_EQ(c.get("fresh"), conformance_detail::Value("-3"));

  // Values written as decimal text are integers for increment.
  EXPECT_TRUE(c.set("text", "100"));
  EXPECT_EQ(c.increment("text", 1), 101);
  EXPECT_TRUE(c.set_as<std::int64_t>("typed", -7));
  EXPECT_EQ(c.increment("typed", 10), 3);

  // Not an integer: nullopt and the value is left as it was.
  for (const char* bad : {"abc", "1.5", "", " 5", "5 ", "12abc", "99999999999999999999"}) {
    EXPECT_TRUE(c.set("bad", bad));
    EXPECT_EQ(c.increment("bad"), std::nullopt) << "value '" << bad << "'";
    EXPECT_EQ(c.decrement("bad"), std::nullopt) << "value '" << bad << "'";
    EXPECT_EQ(c.get("bad"), conformance_detail::Value(bad));
  }

  // Overflow: nullopt and unchanged.
  EXPECT_TRUE(c.set("max", std::to_string(kMax)));
  EXPECT_EQ(c.increment("max"), std::nullopt);
  EXPECT_EQ(c.get("max"), conformance_detail::Value(std::to_string(kMax)));
  EXPECT_EQ(c.decrement("max"), kMax - 1);
  EXPECT_EQ(c.increment("max"), kMax);
  EXPECT_TRUE(c.set("min", std::to_string(kMin)));
  EXPECT_EQ(c.decrement("min"), std::nullopt);
  EXPECT_EQ(c.increment("min", -1), std::nullopt);
  EXPECT_EQ(c.get("min"), conformance_detail::Value(std::to_string(kMin)));
  EXPECT_EQ(c.increment("min", kMax), -1);
  EXPECT_EQ(c.decrement("zero", kMin), std::nullopt);  // -INT64_MIN overflows
  EXPECT_EQ(c.increment("big", kMax), kMax);
  EXPECT_EQ(c.increment("big", kMax), std::nullopt);
  EXPECT_EQ(c.get("big"), conformance_detail::Value(std::to_string(kMax)));
}

TYPED_TEST_P(CacheConformance, IncrementKeepsExpiryAndNewCounterGetsDefault) {
  cachet::Cache& c = this->cache();
  EXPECT_TRUE(c.set("n", "5", 60s));
  EXPECT_EQ(c.increment("n"), 6);
  auto t = c.ttl("n");
  ASSERT_TRUE(t && t->is_finite());
  EXPECT_LE(t->duration(), 60s);
  EXPECT_TRUE(c.set("forever", "5", cachet::Ttl::never()));
  EXPECT_EQ(c.increment("forever"), 6);
  EXPECT_EQ(c.ttl("forever"), cachet::Ttl::never());
  EXPECT_EQ(c.increment("new"), 1);
  EXPECT_EQ(c.ttl("new"), cachet::Ttl::never());  // this cache's default timeout is "never"

  std::unique_ptr<cachet::Cache> d = this->another(300s);
  if (!d) return;
  EXPECT_EQ(d->increment("new", 3), 3);
  t = d->ttl("new");
  ASSERT_TRUE(t && t->is_finite());
  EXPECT_LE(t->duration(), 300s);
  EXPECT_GT(t->duration(), 290s);
}

TYPED_TEST_P(CacheConformance, TypedRoundTrips) {
  cachet::Cache& c = this->cache();
  EXPECT_TRUE(c.set_as<int>("i", -123));
  EXPECT_EQ(c.get("i"), conformance_detail::Value("-123"));
  EXPECT_EQ(c.get_as<int>("i"), -123);
  EXPECT_TRUE(c.set_as("u64", std::numeric_limits<std::uint64_t>::max()));
  EXPECT_EQ(c.get_as<std::uint64_t>("u64"), std::numeric_limits<std::uint64_t>::max());
  EXPECT_EQ(c.get_as<std::int64_t>("u64"), std::nullopt);  // out of range
  EXPECT_TRUE(c.set_as("i64", std::numeric_limits<std::int64_t>::min()));
  EXPECT_EQ(c.get_as<std::int64_t>("i64"), std::numeric_limits<std::int64_t>::min());
  EXPECT_EQ(c.get_as<std::uint8_t>("i"), std::nullopt);

  for (double d : {0.1, -2.5e-300, 1.0 / 3.0, 6.02214076e23, std::numeric_limits<double>::max(),
                   std::numeric_limits<double>::denorm_min(), 0.0}) {
    EXPECT_TRUE(c.set_as("d", d));
    auto back = c.get_as<double>("d");
    ASSERT_TRUE(back.has_value());
    EXPECT_EQ(*back, d);  // exact, not approximately
  }
  EXPECT_TRUE(c.set_as("f", 0.1f));
  EXPECT_EQ(c.get_as<float>("f"), 0.1f);

  EXPECT_TRUE(c.set_as("t", true));
  EXPECT_TRUE(c.set_as("f", false));
  EXPECT_EQ(c.get_as<bool>("t"), true);
  EXPECT_EQ(c.get_as<bool>("f"), false);

  const std::string bin("a\0\xff", 3);
  EXPECT_TRUE(c.set_as("s", bin));
  EXPECT_EQ(c.get_as<std::string>("s"), bin);

  EXPECT_TRUE(c.set("junk", "12 apples"));
  EXPECT_EQ(c.get_as<int>("junk"), std::nullopt);  // does not decode
  EXPECT_EQ(c.get_as<double>("junk"), std::nullopt);
  EXPECT_EQ(c.get_as<bool>("junk"), std::nullopt);
  EXPECT_EQ(c.get_as<int>("missing"), std::nullopt);
}

TYPED_TEST_P(CacheConformance, BatchVerbs) {
  cachet::Cache& c = this->cache();
  // Braced lists.
  EXPECT_TRUE(c.set_many({{"a", "1"}, {"b", "2"}, {"c", ""}}));
  EXPECT_EQ(c.get_many({"a", "x", "b", "c", "a"}), (conformance_detail::Values{"1", std::nullopt, "2", "", "1"}));
  EXPECT_EQ(c.remove_many({"a", "x", "a"}), 1u);
  EXPECT_EQ(c.get("a"), std::nullopt);

  // Vectors of strings.
  std::vector<std::pair<std::string, std::string>> items;
  std::vector<std::string> keys;
  for (int i = 0; i < 150; ++i) {
    items.emplace_back("key" + std::to_string(i), "value" + std::to_string(i));
    keys.push_back("key" + std::to_string(i));
  }
  EXPECT_TRUE(c.set_many(items, 60s));
  auto got = c.get_many(keys);
  ASSERT_EQ(got.size(), keys.size());
  for (std::size_t i = 0; i < keys.size(); ++i) EXPECT_EQ(got[i], conformance_detail::Value(items[i].second)) << keys[i];
  auto t = c.ttl("key7");
  ASSERT_TRUE(t && t->is_finite());
  EXPECT_LE(t->duration(), 60s);

  // KeyList / ItemList of views.
  const cachet::Cache::KeyList views{"key1", "key2", "nope"};
  EXPECT_EQ(c.get_many(views), (conformance_detail::Values{"value1", "value2", std::nullopt}));
  const cachet::Cache::ItemList view_items{{"v1", "x"}, {"v2", "y"}};
  EXPECT_TRUE(c.set_many(view_items));
  EXPECT_EQ(c.get_many({"v1", "v2"}), (conformance_detail::Values{"x", "y"}));

  // A key given twice: the last value wins.
  EXPECT_TRUE(c.set_many({{"dup", "first"}, {"dup", "last"}}));
  EXPECT_EQ(c.get("dup"), conformance_detail::Value("last"));

  EXPECT_EQ(c.remove_many(keys), keys.size());
  EXPECT_EQ(c.remove_many(keys), 0u);
  EXPECT_EQ(c.get_many(views), (conformance_detail::Values{std::nullopt, std::nullopt, std::nullopt}));

  // No keys at all.
  EXPECT_TRUE(c.get_many(std::vector<std::string>{}).empty());
  EXPECT_TRUE(c.get_many(cachet::Cache::KeyList{}).empty());
  EXPECT_TRUE(c.set_many(std::vector<std::pair<std::string, std::string>>{}));
  EXPECT_TRUE(c.set_many(cachet::Cache::ItemList{}));
  EXPECT_EQ(c.remove_many(std::vector<std::string>{}), 0u);
  EXPECT_EQ(c.remove_many(cachet::Cache::KeyList{}), 0u);
}

TYPED_TEST_P(CacheConformance, ClearRemovesOnlyThisCachesEntries) {
  cachet::Cache& c = this->cache();
  std::unique_ptr<cachet::Cache> other = this->another(cachet::Ttl::never());
  if (!other) return;
  EXPECT_TRUE(c.set_many({{"a", "1"}, {"b", "2"}}));
  EXPECT_TRUE(c.set("t", "3", 60s));
  EXPECT_TRUE(other->set("a", "other"));
  EXPECT_TRUE(c.clear());
  EXPECT_EQ(c.get_many({"a", "b", "t"}), (conformance_detail::Values{std::nullopt, std::nullopt, std::nullopt}));
  EXPECT_EQ(other->get("a"), conformance_detail::Value("other"));
  EXPECT_TRUE(c.clear());  // clearing an empty cache is fine
  EXPECT_TRUE(c.set("a", "again"));  // and the cache is usable afterwards
  EXPECT_EQ(c.get("a"), conformance_detail::Value("again"));
  EXPECT_TRUE(c.add("b", "again"));
  EXPECT_EQ(c.increment("n"), 1);
}

TYPED_TEST_P(CacheConformance, StatsCountOperations) {
  cachet::Cache& c = this->cache();
  auto s0 = c.stats();
  EXPECT_EQ(s0.hits, 0u);
  EXPECT_EQ(s0.misses, 0u);
  EXPECT_EQ(s0.sets, 0u);
  EXPECT_EQ(s0.removes, 0u);
  EXPECT_EQ(s0.errors, 0u);

  c.get("a");                                      // miss
  c.set("a", "1");                                 // set
  c.get("a");                                      // hit
  c.add("a", "2");                                 // not stored: no set
  c.add("b", "2");                                 // set
  c.set_many({{"c", "3"}, {"d", "4"}});            // 2 sets
  c.get_many({"a", "b", "x", "y", "z"});           // 2 hits, 3 misses
  c.contains("a");                                 // not a lookup
  c.contains("x");
  c.remove("a");                                   // remove
  c.remove("a");                                   // nothing removed
  c.remove_many({"b", "c", "nope"});               // 2 removes

  auto s = c.stats();
  EXPECT_EQ(s.hits, 3u);
  EXPECT_EQ(s.misses, 4u);
  EXPECT_EQ(s.sets, 4u);
  EXPECT_EQ(s.removes, 3u);
  EXPECT_EQ(s.errors, 0u);
  EXPECT_DOUBLE_EQ(s.hit_ratio(), 3.0 / 7.0);
  EXPECT_FALSE(s.to_string().empty());
}

TYPED_TEST_P(CacheConformance, GetOrSetLoadsOnceAndCaches) {
  cachet::Cache& c = this->cache();
  int calls = 0;
  EXPECT_EQ(c.get_or_set("k", [&] { ++calls; return std::string("loaded"); }), "loaded");
  EXPECT_EQ(c.get_or_set("k", [&] { ++calls; return std::string("other"); }), "loaded");
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(c.get("k"), conformance_detail::Value("loaded"));
  EXPECT_TRUE(c.set("pre", "present"));
  EXPECT_EQ(c.get_or_set("pre", [&] { ++calls; return std::string("x"); }), "present");
  EXPECT_EQ(calls, 1);
  // A loader returning something convertible to std::string, and a ttl.
  EXPECT_EQ(c.get_or_set("lit", [] { return "literal"; }, 60s), "literal");
  auto t = c.ttl("lit");
  ASSERT_TRUE(t && t->is_finite());
  EXPECT_LE(t->duration(), 60s);
  EXPECT_EQ(c.get_or_set("empty", [] { return std::string(); }), "");
  EXPECT_EQ(c.get("empty"), conformance_detail::Value(""));
}

TYPED_TEST_P(CacheConformance, GetOrSetIsSingleFlight) {
  cachet::Cache& c = this->cache();
  constexpr int kThreads = 8;
  std::atomic<int> calls{0};
  conformance_detail::StartLine start(kThreads);
  std::vector<std::string> results(kThreads);
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&, i] {
      start.arrive_and_wait();
      results[static_cast<std::size_t>(i)] = c.get_or_set("slow", [&] {
        calls.fetch_add(1);
        std::this_thread::sleep_for(300ms);  // long enough for every thread to arrive
        return std::string("value#") + std::to_string(calls.load());
      });
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(calls.load(), 1);
  for (const auto& r : results) EXPECT_EQ(r, "value#1");
  EXPECT_EQ(c.get("slow"), conformance_detail::Value("value#1"));
}

TYPED_TEST_P(CacheConformance, GetOrSetLoaderExceptionReachesEveryWaiter) {
  cachet::Cache& c = this->cache();
  constexpr int kThreads = 6;
  std::atomic<int> calls{0}, caught{0}, returned{0};
  conformance_detail::StartLine start(kThreads);
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&] {
      start.arrive_and_wait();
      try {
        c.get_or_set("boom", [&]() -> std::string {
          calls.fetch_add(1);
          std::this_thread::sleep_for(300ms);
          throw std::runtime_error("loader failed");
        });
        returned.fetch_add(1);
      } catch (const std::runtime_error& e) {
        if (std::string(e.what()) == "loader failed") caught.fetch_add(1);
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(caught.load(), kThreads);
  EXPECT_EQ(returned.load(), 0);
  EXPECT_GE(calls.load(), 1);
  EXPECT_LT(calls.load(), kThreads);  // the waiters shared the leader's failure
  EXPECT_FALSE(c.contains("boom"));   // nothing stored
  // The key is not stuck: a later load succeeds.
  EXPECT_EQ(c.get_or_set("boom", [] { return std::string("ok"); }), "ok");
  EXPECT_EQ(c.get("boom"), conformance_detail::Value("ok"));
}

TYPED_TEST_P(CacheConformance, ConcurrentIncrementsLoseNothing) {
  cachet::Cache& c = this->cache();
  constexpr int kThreads = 4, kPerThread = 500;
  conformance_detail::StartLine start(kThreads);
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&, i] {
      start.arrive_and_wait();
      for (int j = 0; j < kPerThread; ++j) {
        const bool up = (j % 4) != 3;  // 3 up, 1 down
        auto r = up ? c.increment("counter", 2) : c.decrement("counter", 1);
        if (!r) failures.fetch_add(1);
        if (!c.increment("per-thread-" + std::to_string(i))) failures.fetch_add(1);
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  // Per thread: 375 * 2 - 125 = 625.
  EXPECT_EQ(c.get_as<std::int64_t>("counter"), std::int64_t{kThreads} * 625);
  for (int i = 0; i < kThreads; ++i) EXPECT_EQ(c.get_as<int>("per-thread-" + std::to_string(i)), kPerThread);
}

TYPED_TEST_P(CacheConformance, ConcurrentAddHasExactlyOneWinner) {
  cachet::Cache& c = this->cache();
  constexpr int kThreads = 6, kRounds = 40;
  std::vector<std::atomic<int>> winners(kRounds);
  std::vector<std::atomic<int>> winner_id(kRounds);
  conformance_detail::StartLine start(kThreads);
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&, i] {
      start.arrive_and_wait();
      for (int r = 0; r < kRounds; ++r) {
        if (c.add("slot" + std::to_string(r), "thread" + std::to_string(i))) {
          winners[static_cast<std::size_t>(r)].fetch_add(1);
          winner_id[static_cast<std::size_t>(r)].store(i);
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  for (int r = 0; r < kRounds; ++r) {
    const auto ri = static_cast<std::size_t>(r);
    EXPECT_EQ(winners[ri].load(), 1) << "round " << r;
    EXPECT_EQ(c.get("slot" + std::to_string(r)), conformance_detail::Value("thread" + std::to_string(winner_id[ri].load())));
  }
}

// Many threads mixing every verb over a small key set. Values always have the
// shape "<key>=<n>", so a torn or misplaced value is visible to the readers.
TYPED_TEST_P(CacheConformance, ManyThreadsMixingAllVerbs) {
  cachet::Cache& c = this->cache();
  constexpr int kThreads = 4, kOps = 600, kKeys = 16;
  std::atomic<int> bad{0};
  conformance_detail::StartLine start(kThreads);
  auto key = [](int i) { return "mix" + std::to_string(i); };
  auto well_formed = [&](const std::string& k, const conformance_detail::Value& v) {
    if (!v) return true;
    return v->rfind(k + "=", 0) == 0;
  };
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      start.arrive_and_wait();
      std::uint32_t rng = 12345u + static_cast<std::uint32_t>(t) * 7919u;
      auto next = [&rng] { rng = rng * 1664525u + 1013904223u; return rng >> 8; };
      for (int i = 0; i < kOps; ++i) {
        const int ki = static_cast<int>(next() % kKeys);
        const std::string k = key(ki);
        const std::string v = k + "=" + std::to_string(i);
        switch (next() % 13) {
          case 0: c.set(k, v); break;
          case 1: c.set(k, v, 60s); break;
          case 2: c.add(k, v); break;
          case 3: if (!well_formed(k, c.get(k))) bad.fetch_add(1); break;
          case 4: c.remove(k); break;
          case 5: c.contains(k); break;
          case 6: {
            const std::string k2 = key((ki + 1) % kKeys);
            auto vs = c.get_many({k, k2});
            if (vs.size() != 2 || !well_formed(k, vs[0]) || !well_formed(k2, vs[1])) bad.fetch_add(1);
            break;
          }
          case 7: c.set_many({{k, v}, {key((ki + 3) % kKeys), key((ki + 3) % kKeys) + "=m"}}); break;
          case 8: c.remove_many({k, key((ki + 5) % kKeys)}); break;
          case 9: c.increment("mix-counter-" + std::to_string(ki)); break;
          case 10: c.ttl(k); c.touch(k, 60s); break;
          case 11: {
            auto got = c.get_or_set(k, [&] { return v; });
            if (got.rfind(k + "=", 0) != 0) bad.fetch_add(1);
            break;
          }
          default:
            if (i % 97 == 0) c.clear(); else c.stats();
            break;
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(bad.load(), 0);
  for (int i = 0; i < kKeys; ++i) EXPECT_TRUE(well_formed(key(i), c.get(key(i))));
  EXPECT_TRUE(c.set("after", "ok"));
  EXPECT_EQ(c.get("after"), conformance_detail::Value("ok"));
}

REGISTER_TYPED_TEST_SUITE_P(CacheConformance, SetGetRemoveContains, EmptyValueIsAHitAndEmptyKeyIsAKey,
                            BinaryKeysAndValues, AddStoresOnlyWhenAbsent, TtlAndTouch, EntriesExpire,
                            IncrementAndDecrement, IncrementKeepsExpiryAndNewCounterGetsDefault, TypedRoundTrips,
                            BatchVerbs, ClearRemovesOnlyThisCachesEntries, StatsCountOperations,
                            GetOrSetLoadsOnceAndCaches, GetOrSetIsSingleFlight,
                            GetOrSetLoaderExceptionReachesEveryWaiter, ConcurrentIncrementsLoseNothing,
                            ConcurrentAddHasExactlyOneWinner, ManyThreadsMixingAllVerbs);
