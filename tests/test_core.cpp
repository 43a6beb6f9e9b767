// The shared machinery every backend inherits: Ttl, Codec, CacheStats and the
// single-flight get_or_set (run through SimpleCache, the simplest real store).
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdint>
#include <cstring>
#include <limits>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "cachet/cachet.hpp"

using namespace std::chrono_literals;
using cachet::Codec;
using cachet::Ttl;

namespace {
struct Point {
  int x = 0, y = 0;
  bool operator==(const Point& o) const { return x == o.x && y == o.y; }
};
}  // namespace

template <>
struct cachet::Codec<Point> {
  static std::string encode(const Point& p) { return std::to_string(p.x) + "," + std::to_string(p.y); }
  static std::optional<Point> decode(std::string_view s) {
    const auto comma = s.find(',');
    if (comma == std::string_view::npos) return std::nullopt;
    auto x = Codec<int>::decode(s.substr(0, comma));
    auto y = Codec<int>::decode(s.substr(comma + 1));
    if (!x || !y) return std::nullopt;
    return Point{*x, *y};
  }
};

TEST(Ttl, DefaultNeverAndDurations) {
  EXPECT_TRUE(Ttl{}.is_default());
  EXPECT_EQ(Ttl{}, Ttl::use_default());
  EXPECT_TRUE(Ttl::never().is_never());
  EXPECT_EQ(Ttl(0s), Ttl::never());
  EXPECT_EQ(Ttl(0ms), Ttl::never());
  EXPECT_TRUE(Ttl(30s).is_finite());
  EXPECT_EQ(Ttl(30s).duration(), 30'000ms);
  EXPECT_EQ(Ttl(1500ms).duration(), 1500ms);
  EXPECT_EQ(Ttl(std::chrono::microseconds(1)).duration(), 1ms);   // rounds up, never becomes "never"
  EXPECT_EQ(Ttl(std::chrono::microseconds(1001)).duration(), 2ms);
  EXPECT_EQ(Ttl(std::chrono::duration<double>(0.25)).duration(), 250ms);
  EXPECT_TRUE(Ttl(std::chrono::hours::max()).is_finite());         // clamped, no overflow
  EXPECT_GT(Ttl(std::chrono::hours::max()).duration(), std::chrono::hours(24 * 365 * 1000));
  EXPECT_THROW(Ttl(-1s), std::invalid_argument);
  EXPECT_THROW(Ttl(std::chrono::nanoseconds(-1)), std::invalid_argument);
  // The message names the value and what is accepted.
  auto message_of = [](auto d) -> std::string {
    try {
      static_cast<void>(Ttl(d));
    } catch (const std::invalid_argument& e) {
      return e.what();
    }
    return "(no exception)";
  };
  EXPECT_EQ(message_of(-1500ms),
            "cachet::Ttl: negative duration (-1500ms); accepted: zero (never expires) or a positive duration");
  EXPECT_NE(message_of(std::chrono::nanoseconds(-1)).find("less than 1 ms below zero"), std::string::npos);
  EXPECT_NE(message_of(-std::chrono::hours::max()).find("below -9e18ms"), std::string::npos);
  EXPECT_NE(message_of(std::chrono::duration<double>(-2.5)).find("(-2500ms)"), std::string::npos);
  // The clamp bound: 2^62 ms.
  EXPECT_EQ(Ttl(std::chrono::hours::max()).duration().count(), std::numeric_limits<std::int64_t>::max() / 2);
  EXPECT_EQ(Ttl{}.resolve(10s), Ttl(10s));
  EXPECT_EQ(Ttl(5s).resolve(10s), Ttl(5s));
  EXPECT_EQ(Ttl::never().resolve(10s), Ttl::never());
  EXPECT_EQ(Ttl{}.to_string(), "default");
  EXPECT_EQ(Ttl::never().to_string(), "never");
  EXPECT_EQ(Ttl(1500ms).to_string(), "1500ms");
  EXPECT_NE(Ttl(1s), Ttl(2s));
}

template <class T>
void expect_integral_round_trip() {
  for (T v : {std::numeric_limits<T>::min(), T{0}, T{1}, std::numeric_limits<T>::max()}) {
    const auto text = Codec<T>::encode(v);
    EXPECT_EQ(Codec<T>::decode(text), v) << text;
  }
}

TEST(Codec, IntegralRoundTripsAndDecimalText) {
  expect_integral_round_trip<int>();
  expect_integral_round_trip<std::int64_t>();
  expect_integral_round_trip<std::uint64_t>();
  expect_integral_round_trip<std::int8_t>();
  expect_integral_round_trip<std::uint16_t>();
  EXPECT_EQ(Codec<int>::encode(-42), "-42");
  EXPECT_EQ(Codec<std::int64_t>::encode(std::numeric_limits<std::int64_t>::min()), "-9223372036854775808");
}

TEST(Codec, IntegralDecodeIsStrict) {
  for (const char* bad : {"", " 1", "1 ", "1x", "0x10", "1e3", "1.0", "+-1", "abc"}) {
    EXPECT_EQ(Codec<int>::decode(bad), std::nullopt) << "'" << bad << "'";
  }
  EXPECT_EQ(Codec<std::uint8_t>::decode("256"), std::nullopt);  // out of range
  EXPECT_EQ(Codec<std::uint32_t>::decode("-1"), std::nullopt);
  EXPECT_EQ(Codec<std::int64_t>::decode("9223372036854775808"), std::nullopt);
  EXPECT_EQ(Codec<int>::decode("-0"), 0);
}

template <class T>
void expect_exact_floating(T v) {
  const auto text = Codec<T>::encode(v);
  auto back = Codec<T>::decode(text);
  ASSERT_TRUE(back.has_value()) << text;
  EXPECT_EQ(std::memcmp(&*back, &v, sizeof v), 0) << text << " did not round-trip bit for bit";
}

TEST(Codec, FloatingPointRoundTripsExactly) {
  for (double d : {0.1, 0.2, 1.0 / 3.0, -0.0, 0.0, 1e-310, std::numeric_limits<double>::denorm_min(),
                   std::numeric_limits<double>::max(), std::numeric_limits<double>::lowest(),
                   std::numeric_limits<double>::epsilon(), 123456789.123456789, std::nextafter(1.0, 2.0),
                   std::numeric_limits<double>::infinity(), -std::numeric_limits<double>::infinity()}) {
    expect_exact_floating(d);
  }
  for (float f : {0.1f, 1.0f / 3.0f, std::numeric_limits<float>::max(), std::numeric_limits<float>::denorm_min()}) {
    expect_exact_floating(f);
  }
  EXPECT_EQ(Codec<double>::encode(0.1), "0.1");  // shortest form, not 0.1000000000000000055511
  auto nan = Codec<double>::decode(Codec<double>::encode(std::nan("")));
  ASSERT_TRUE(nan.has_value());
  EXPECT_TRUE(std::isnan(*nan));
}

TEST(Codec, FloatingDecodeIsStrict) {
  for (const char* bad : {"", " 1.5", "1.5 ", "1.5x", "1,5", "abc"}) {
    EXPECT_EQ(Codec<double>::decode(bad), std::nullopt) << "'" << bad << "'";
  }
  EXPECT_EQ(Codec<double>::decode("1e3"), 1000.0);
  EXPECT_EQ(Codec<double>::decode("-2.5"), -2.5);
}

TEST(Codec, BoolAndString) {
  EXPECT_EQ(Codec<bool>::encode(true), "1");
  EXPECT_EQ(Codec<bool>::encode(false), "0");
  EXPECT_EQ(Codec<bool>::decode("1"), true);
  EXPECT_EQ(Codec<bool>::decode("true"), true);
  EXPECT_EQ(Codec<bool>::decode("0"), false);
  EXPECT_EQ(Codec<bool>::decode("false"), false);
  for (const char* bad : {"", "2", "yes", "TRUE", " 1"}) EXPECT_EQ(Codec<bool>::decode(bad), std::nullopt) << bad;
  const std::string bin("\0\xff\r\n", 4);
  EXPECT_EQ(Codec<std::string>::decode(Codec<std::string>::encode(bin)), bin);
}

TEST(Codec, UserSpecializationThroughACache) {
  cachet::SimpleCache c;
  EXPECT_TRUE(c.set_as("p", Point{3, -4}));
  EXPECT_EQ(c.get("p"), std::optional<std::string>("3,-4"));
  EXPECT_EQ(c.get_as<Point>("p"), (Point{3, -4}));
  c.set("p", "garbage");
  EXPECT_EQ(c.get_as<Point>("p"), std::nullopt);
}

TEST(CacheStats, HitRatioAndText) {
  cachet::CacheStats s;
  EXPECT_EQ(s.hit_ratio(), 0.0);
  s.hits = 3;
  s.misses = 1;
  EXPECT_DOUBLE_EQ(s.hit_ratio(), 0.75);
  const auto text = s.to_string();
  EXPECT_NE(text.find("hits=3"), std::string::npos) << text;
  EXPECT_NE(text.find("misses=1"), std::string::npos) << text;
  EXPECT_NE(text.find("evictions=0"), std::string::npos) << text;
  EXPECT_EQ(text.find("breaker"), std::string::npos) << text;
}

TEST(CacheStats, SimpleCacheCountersAndGauges) {
  cachet::SimpleCache c;
  c.get_or_set("k", [] { return std::string("value"); });  // miss, then a set
  c.get_or_set("k", [] { return std::string("other"); });  // hit
  auto s = c.stats();
  EXPECT_EQ(s.misses, 1u);
  EXPECT_EQ(s.hits, 1u);
  EXPECT_EQ(s.sets, 1u);
  EXPECT_EQ(s.items, 1u);
  EXPECT_EQ(s.bytes, 6u);
  EXPECT_EQ(s.errors, 0u);
}

TEST(GetOrSet, DifferentKeysLoadInParallel) {
  // Single-flight is per key: the loader of "a" waits until the loader of "b"
  // has started, which deadlocks if loads were serialized across keys.
  cachet::SimpleCache c;
  std::mutex mu;
  std::condition_variable cv;
  bool b_started = false;
  std::thread ta([&] {
    c.get_or_set("a", [&] {
      std::unique_lock<std::mutex> lock(mu);
      const bool ok = cv.wait_for(lock, 5s, [&] { return b_started; });
      return std::string(ok ? "a-ok" : "a-timeout");
    });
  });
  std::thread tb([&] {
    c.get_or_set("b", [&] {
      {
        std::lock_guard<std::mutex> lock(mu);
        b_started = true;
      }
      cv.notify_all();
      return std::string("b");
    });
  });
  ta.join();
  tb.join();
  EXPECT_EQ(c.get("a"), std::optional<std::string>("a-ok"));
  EXPECT_EQ(c.get("b"), std::optional<std::string>("b"));
}

TEST(GetOrSet, LoaderExceptionStoresNothingAndIsRetried) {
  cachet::SimpleCache c;
  int calls = 0;
  struct Custom : std::exception {
    const char* what() const noexcept override { return "custom"; }
  };
  EXPECT_THROW(c.get_or_set("k", [&]() -> std::string { ++calls; throw Custom{}; }), Custom);
  EXPECT_FALSE(c.contains("k"));
  EXPECT_EQ(c.stats().sets, 0u);
  EXPECT_EQ(c.get_or_set("k", [&] { ++calls; return std::string("v"); }), "v");
  EXPECT_EQ(calls, 2);
}

TEST(GetOrSet, ManyThreadsManyKeysEachLoadedOnce) {
  cachet::SimpleCache c;
  constexpr int kKeys = 20, kThreads = 4;
  std::vector<std::atomic<int>> loads(kKeys);
  std::vector<std::thread> threads;
  std::atomic<int> wrong{0};
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int round = 0; round < 3; ++round) {
        for (int k = 0; k < kKeys; ++k) {
          auto v = c.get_or_set("key" + std::to_string(k), [&, k] {
            loads[static_cast<std::size_t>(k)].fetch_add(1);
            std::this_thread::sleep_for(2ms);
            return "v" + std::to_string(k);
          });
          if (v != "v" + std::to_string(k)) wrong.fetch_add(1);
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(wrong.load(), 0);
  for (int k = 0; k < kKeys; ++k) EXPECT_EQ(loads[static_cast<std::size_t>(k)].load(), 1) << k;
}

TEST(GetOrSet, ValueStillReturnedWhenItCannotBeStored) {
  cachet::SimpleCacheOptions o;
  o.max_bytes = 10;
  cachet::SimpleCache c(o);
  const std::string big(100, 'x');
  EXPECT_EQ(c.get_or_set("k", [&] { return big; }), big);
  EXPECT_FALSE(c.contains("k"));
}
