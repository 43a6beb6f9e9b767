// Internal logging helpers: the current "cachet" logger and a rate limiter so
// that a failing backend at 50k ops/s writes a handful of lines, not 50k.
#pragma once

#include <spdlog/spdlog.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

namespace cachet::detail {

/// The logger cachet writes to (the injected one, or the built-in stderr one).
std::shared_ptr<spdlog::logger> log();

/// Lets at most `burst` messages through per `window`; counts the rest and
/// reports how many were suppressed with the next message let through.
/// Lock-free; safe to call from many threads.
class RateLimiter {
 public:
  explicit RateLimiter(int burst = 5, std::chrono::milliseconds window = std::chrono::seconds(10))
      : burst_(burst), window_ns_(std::chrono::duration_cast<std::chrono::nanoseconds>(window).count()) {}

  /// True when the caller may log now; `suppressed` receives the number of
  /// messages dropped since the last one let through.
  bool allow(std::uint64_t& suppressed) noexcept;

 private:
  const int burst_;
  const std::int64_t window_ns_;
  std::atomic<std::int64_t> window_start_{0};
  std::atomic<int> in_window_{0};
  std::atomic<std::uint64_t> dropped_{0};
};

/// Logs `msg` at `level` through `limiter`, appending "(N similar messages suppressed)".
void log_limited(RateLimiter& limiter, spdlog::level::level_enum level, const std::string& msg);

}  // namespace cachet::detail
