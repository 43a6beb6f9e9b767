// cachet/ttl.hpp — how long a cache entry lives.
//
// A Ttl is one of three things:
//   * the cache's default timeout — a default-constructed Ttl (`Ttl{}`);
//   * never expires — `Ttl::never()`, or any zero duration (as timeout=0 in
//     Flask-Caching / cachelib);
//   * a positive duration with millisecond precision. Sub-millisecond positive
//     durations round *up* to 1 ms, so they never turn into "never".
// A negative duration is a programming error: std::invalid_argument naming the
// value. Durations of 2^62 ms (about 146 million years) or more are clamped to
// 2^62 ms, so that "now + ttl" cannot overflow int64 milliseconds in any
// backend (Redis accepts that bound as an expiry).
//
// Ttl is a small value type; it is safe to copy and share between threads.
#pragma once

#include <chrono>
#include <cstdint>
#include <limits>
#include <ratio>
#include <stdexcept>
#include <string>

namespace cachet {

class Ttl {
 public:
  /// "Use the cache's default timeout."
  constexpr Ttl() noexcept = default;

  /// From any std::chrono::duration: zero = never expires, negative throws
  /// std::invalid_argument, positive keeps millisecond precision (rounded up).
  template <class Rep, class Period>
  Ttl(std::chrono::duration<Rep, Period> d)  // NOLINT(google-explicit-constructor): implicit by design
      : ms_(from_duration(d)) {}

  /// Never expires.
  static constexpr Ttl never() noexcept { return Ttl(kNever, Raw{}); }
  /// The cache's default timeout (same as `Ttl{}`).
  static constexpr Ttl use_default() noexcept { return Ttl(); }

  constexpr bool is_default() const noexcept { return ms_ == kDefault; }
  constexpr bool is_never() const noexcept { return ms_ == kNever; }
  /// True for a positive, finite duration.
  constexpr bool is_finite() const noexcept { return ms_ > 0; }

  /// The duration: > 0 when finite, 0 for never. Meaningless for the default
  /// (returns -1 ms); resolve defaults with resolve() first.
  constexpr std::chrono::milliseconds duration() const noexcept {
    return std::chrono::milliseconds(ms_);
  }

  /// This Ttl, with "default" replaced by `fallback`.
  constexpr Ttl resolve(Ttl fallback) const noexcept { return is_default() ? fallback : *this; }

  friend constexpr bool operator==(Ttl a, Ttl b) noexcept { return a.ms_ == b.ms_; }
  friend constexpr bool operator!=(Ttl a, Ttl b) noexcept { return a.ms_ != b.ms_; }

  /// "default", "never" or e.g. "1500ms".
  std::string to_string() const {
    if (is_default()) return "default";
    if (is_never()) return "never";
    return std::to_string(ms_) + "ms";
  }

 private:
  struct Raw {};
  static constexpr std::int64_t kDefault = -1;
  static constexpr std::int64_t kNever = 0;
  constexpr Ttl(std::int64_t ms, Raw) noexcept : ms_(ms) {}

  template <class Rep, class Period>
  static std::int64_t from_duration(std::chrono::duration<Rep, Period> d) {
    using std::chrono::duration;
    if (d < d.zero()) {
      const long double neg_ms = duration<long double, std::milli>(d).count();
      const std::string value = neg_ms > -1.0L ? std::string("less than 1 ms below zero")
                                : neg_ms > -9.0e18L ? std::to_string(static_cast<long long>(neg_ms)) + "ms"
                                                    : std::string("below -9e18ms");
      throw std::invalid_argument("cachet::Ttl: negative duration (" + value +
                                  "); accepted: zero (never expires) or a positive duration");
    }
    if (d == d.zero()) return kNever;
    // Compare in floating point so that huge durations (hours::max()) cannot overflow.
    const long double ms = duration<long double, std::milli>(d).count();
    constexpr std::int64_t kMaxMs = std::numeric_limits<std::int64_t>::max() / 2;
    const auto max_ms = static_cast<long double>(kMaxMs);
    if (ms >= max_ms) return static_cast<std::int64_t>(max_ms);
    auto whole = std::chrono::ceil<std::chrono::milliseconds>(
        std::chrono::duration_cast<duration<long double, std::milli>>(d)).count();
    return whole < 1 ? 1 : static_cast<std::int64_t>(whole);
  }

  std::int64_t ms_ = kDefault;
};

}  // namespace cachet
