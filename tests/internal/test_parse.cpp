// The grammar of configuration values (src/core/parse.hpp), shared by
// CacheConfig and RedisOptions::from_url: whole numbers, durations, sizes,
// booleans, and the texts that describe them.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include "core/parse.hpp"

using namespace std::chrono_literals;
using std::chrono::milliseconds;
namespace parse = cachet::parse;

namespace {

constexpr parse::DurationRule kTtl{1s, 0ms, std::chrono::hours(24 * 365 * 10)};
constexpr parse::DurationRule kCooldown{1ms, 1ms, std::chrono::hours(1)};

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

}  // namespace

TEST(Parse, WholeNumbersAreDigitsOnly) {
  EXPECT_EQ(parse::whole("0"), std::optional<std::uint64_t>(0));
  EXPECT_EQ(parse::whole("18446744073709551615"), std::optional<std::uint64_t>(UINT64_MAX));
  for (const char* bad : {"", "-1", "+1", " 1", "1 ", "1.0", "1e3", "0x10", "18446744073709551616", "１"}) {
    EXPECT_EQ(parse::whole(bad), std::nullopt) << bad;
  }
  EXPECT_EQ(parse::whole_as<int>("2147483647"), std::optional<int>(2147483647));
  EXPECT_EQ(parse::whole_as<int>("2147483648"), std::nullopt);
  EXPECT_EQ(parse::describe_whole(1, 1024), "a whole number from 1 to 1024");
}

TEST(Parse, DurationsBareNumberCountsTheRulesUnit) {
  EXPECT_EQ(parse::duration("250", parse::kTimeout), std::optional<milliseconds>(250ms));
  EXPECT_EQ(parse::duration("300", kTtl), std::optional<milliseconds>(300s));
  EXPECT_EQ(parse::duration("0", kTtl), std::optional<milliseconds>(0ms));
  for (const auto& rule : {parse::kTimeout, kTtl}) {
    EXPECT_EQ(parse::duration("250ms", rule), std::optional<milliseconds>(250ms));
    EXPECT_EQ(parse::duration("2s", rule), std::optional<milliseconds>(2s));
    EXPECT_EQ(parse::duration("5m", rule), std::optional<milliseconds>(5min));
  }
  // The grammar does not check the range; in_range does.
  EXPECT_EQ(parse::duration("11m", parse::kTimeout), std::optional<milliseconds>(11min));
  EXPECT_FALSE(parse::in_range(11min, parse::kTimeout));
  EXPECT_FALSE(parse::in_range(0ms, parse::kTimeout));
  EXPECT_TRUE(parse::in_range(1ms, parse::kTimeout));
  EXPECT_TRUE(parse::in_range(10min, parse::kTimeout));
  EXPECT_TRUE(parse::in_range(0ms, kTtl));
}

TEST(Parse, DurationUnitsBeyondTheRangeAreNotOffered) {
  EXPECT_EQ(parse::duration("1h", parse::kTimeout), std::nullopt);  // max 10 minutes
  EXPECT_EQ(parse::duration("1h", kCooldown), std::optional<milliseconds>(1h));
  EXPECT_EQ(parse::duration("2h", kTtl), std::optional<milliseconds>(2h));
}

TEST(Parse, MalformedDurations) {
  for (const char* bad : {"", "ms", "s", "-5", "+5", "1.5s", "5 s", " 5", "5S", "5MS", "5d", "5sec", "5min", "1h30m",
                          "0x10", "9223372036854775808", "9223372036854776s"}) {
    EXPECT_EQ(parse::duration(bad, kTtl), std::nullopt) << bad;
  }
}

TEST(Parse, DescribeSaysWhatARuleAccepts) {
  EXPECT_EQ(parse::describe(parse::kTimeout),
            "a whole number of milliseconds, or a number with a unit ms, s or m (e.g. 250ms, 30s, 5m); "
            "from 1 ms to 10 minutes");
  const std::string ttl = parse::describe(kTtl);
  EXPECT_TRUE(contains(ttl, "a whole number of seconds")) << ttl;
  EXPECT_TRUE(contains(ttl, "ms, s, m or h")) << ttl;
  EXPECT_TRUE(contains(ttl, "at most 10 years")) << ttl;
  EXPECT_EQ(parse::range_words(kCooldown), "from 1 ms to 1 hour");
}

TEST(Parse, DurationTextIsExactAndReadsBack) {
  EXPECT_EQ(parse::duration_text(300s), "300s");
  EXPECT_EQ(parse::duration_text(1500ms), "1500ms");
  EXPECT_EQ(parse::duration_text(0ms), "0ms");
  const milliseconds cases[] = {1ms, 999ms, 1s, 61s, 10min};
  for (const milliseconds d : cases) {
    EXPECT_EQ(parse::duration(parse::duration_text(d), parse::kTimeout), std::optional<milliseconds>(d));
  }
}

TEST(Parse, Sizes) {
  EXPECT_EQ(parse::bytes("67108864"), std::optional<std::uint64_t>(67108864));
  EXPECT_EQ(parse::bytes("1KiB"), std::optional<std::uint64_t>(1024));
  EXPECT_EQ(parse::bytes("64MiB"), std::optional<std::uint64_t>(std::uint64_t{64} << 20));
  EXPECT_EQ(parse::bytes("2GiB"), std::optional<std::uint64_t>(std::uint64_t{2} << 30));
  for (const char* bad : {"", "MiB", "64MB", "64mib", "64 MiB", "1TB", "-1", "1.5GiB", "17179869184GiB"}) {
    EXPECT_EQ(parse::bytes(bad), std::nullopt) << bad;
  }
  EXPECT_EQ(parse::describe_bytes(1, std::uint64_t{1} << 40),
            "a whole number of bytes, or a number with a unit KiB, MiB or GiB (e.g. 64MiB); from 1 byte to 1 TiB");
}

TEST(Parse, Booleans) {
  for (const char* yes : {"true", "TRUE", "True", "yes", "on", "1"}) EXPECT_EQ(parse::boolean(yes), true) << yes;
  for (const char* no : {"false", "FALSE", "no", "Off", "0"}) EXPECT_EQ(parse::boolean(no), false) << no;
  for (const char* bad : {"", "y", "n", "2", "enabled", " true", "true "}) {
    EXPECT_EQ(parse::boolean(bad), std::nullopt) << bad;
  }
}

TEST(Parse, QuoteKeepsAMessageOnOneReadableLine) {
  EXPECT_EQ(parse::quote("abc"), "\"abc\"");
  EXPECT_EQ(parse::quote(std::string("a\nb\0c\"\\", 7)), "\"a\\x0ab\\x00c\\x22\\x5c\"");
  EXPECT_EQ(parse::quote(std::string(100, 'x')), "\"" + std::string(80, 'x') + "...\"");
  EXPECT_EQ(parse::either({"a"}), "a");
  EXPECT_EQ(parse::either({"a", "b", "c"}), "a, b or c");
  EXPECT_EQ(parse::lower("RedisCache"), "rediscache");
}
