// Internal: the one grammar of configuration values — whole numbers, durations,
// byte sizes, booleans and names — shared by CacheConfig (environment / map)
// and RedisOptions::from_url (query values), and the texts that describe it.
//
// Every function takes the value exactly as given: no surrounding whitespace,
// no sign, no fraction. They return std::nullopt for text outside the grammar;
// the caller names the key in its ConfigError, because only it knows the key
// and whether the value is a secret. The user-facing description of this
// grammar is docs/configuration.md, "Values".
#pragma once

#include <chrono>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace cachet::parse {

/// A whole number: ASCII digits only; nullopt when empty, signed, spaced,
/// fractional or beyond uint64.
std::optional<std::uint64_t> whole(std::string_view text);

/// whole(), narrowed to Int; nullopt when the number does not fit.
template <class Int>
std::optional<Int> whole_as(std::string_view text) {
  const auto n = whole(text);
  if (!n || *n > static_cast<std::uint64_t>(std::numeric_limits<Int>::max())) return std::nullopt;
  return static_cast<Int>(*n);
}

/// "a whole number from `min` to `max`".
std::string describe_whole(std::uint64_t min, std::uint64_t max);

/// What a duration key accepts. The grammar is the same for every key:
/// `<whole number>[unit]`, unit one of ms, s, m, h, lower-case, right after the
/// number. A key chooses what a bare number counts (`bare_unit`: milliseconds
/// for timeouts, seconds for TTLs) and its range; a unit of which even one is
/// beyond `max` is not offered (an hour is never a socket timeout).
struct DurationRule {
  std::chrono::milliseconds bare_unit;
  std::chrono::milliseconds min;
  std::chrono::milliseconds max;
};

/// Every network wait — connect, socket and pool-wait timeouts, from REDIS_URL,
/// CACHE_REDIS_* or RedisOptions alike: a bare number is milliseconds; 1 ms to
/// 10 minutes (finite: no "0 = wait forever").
inline constexpr DurationRule kTimeout{std::chrono::milliseconds(1), std::chrono::milliseconds(1),
                                       std::chrono::minutes(10)};

/// The duration `text` writes under `rule`'s grammar (its bare unit and units),
/// without the range check; nullopt when malformed or beyond int64 milliseconds.
std::optional<std::chrono::milliseconds> duration(std::string_view text, const DurationRule& rule);

/// True when `d` lies in `rule`'s range.
bool in_range(std::chrono::milliseconds d, const DurationRule& rule);

/// What `rule` accepts, e.g. "a whole number of milliseconds, or a number with
/// a unit ms, s or m (e.g. 250ms, 30s, 5m); from 1 ms to 10 minutes".
std::string describe(const DurationRule& rule);

/// "1 ms to 10 minutes" (or "at most 10 years" from 0): the range in words.
std::string range_words(const DurationRule& rule);

/// `d` written back in the grammar, exactly: "300s" when whole seconds, else "250ms".
std::string duration_text(std::chrono::milliseconds d);

/// A byte size: `<whole number>[unit]`, unit KiB, MiB or GiB (powers of 1024,
/// written exactly so); nullopt when malformed or beyond uint64.
std::optional<std::uint64_t> bytes(std::string_view text);

/// What a size from `min` to `max` bytes accepts, e.g. "a whole number of bytes,
/// or a number with a unit KiB, MiB or GiB (e.g. 64MiB); from 1 byte to 1 TiB".
std::string describe_bytes(std::uint64_t min, std::uint64_t max);

/// A boolean: true/false, yes/no, on/off, 1/0, case-insensitive.
std::optional<bool> boolean(std::string_view text);

/// What boolean() accepts.
std::string describe_boolean();

/// A non-negative decimal: digits, optionally a '.' and more digits ("0.8",
/// "1", "0.25"); nullopt otherwise (no sign, exponent or spaces).
std::optional<double> decimal(std::string_view text);

/// `v` in the shortest text decimal() reads back as `v` ("0.8", "0").
std::string decimal_text(double v);

/// "a, b or c": a list of alternatives in a description.
std::string either(const std::vector<std::string>& items);

/// `text` in lower case (ASCII): names such as CACHE_TYPE's are case-insensitive.
std::string lower(std::string_view text);

/// `value` as shown inside a message: in double quotes, with control bytes,
/// '"' and '\' as \xNN, cut after 80 bytes ("...") so a log line stays one
/// readable line. Never pass a secret.
std::string quote(std::string_view value);

}  // namespace cachet::parse
