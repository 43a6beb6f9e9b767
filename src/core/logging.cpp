#include "cachet/logging.hpp"

#include <spdlog/sinks/stdout_color_sinks.h>

#include <mutex>

#include "core/log.hpp"

namespace cachet {

namespace {

std::shared_ptr<spdlog::logger> make_default_logger() {
  // Built directly (not through spdlog's factory functions), so it is never
  // registered in spdlog's global registry and never clashes with the
  // application's own loggers.
  auto sink = std::make_shared<spdlog::sinks::stderr_color_sink_mt>();
  auto lg = std::make_shared<spdlog::logger>("cachet", std::move(sink));
  lg->set_level(spdlog::level::warn);
  return lg;
}

std::mutex g_mu;
std::shared_ptr<spdlog::logger> g_logger;  // guarded by g_mu

}  // namespace

void set_logger(std::shared_ptr<spdlog::logger> lg) {
  std::lock_guard<std::mutex> lock(g_mu);
  g_logger = std::move(lg);
}

std::shared_ptr<spdlog::logger> logger() { return detail::log(); }

namespace detail {

std::shared_ptr<spdlog::logger> log() {
  std::lock_guard<std::mutex> lock(g_mu);
  if (!g_logger) g_logger = make_default_logger();
  return g_logger;
}

bool RateLimiter::allow(std::uint64_t& suppressed) noexcept {
  const std::int64_t now = std::chrono::duration_cast<std::chrono::nanoseconds>(
                               std::chrono::steady_clock::now().time_since_epoch()).count();
  std::int64_t start = window_start_.load(std::memory_order_relaxed);
  if (now - start >= window_ns_ &&
      window_start_.compare_exchange_strong(start, now, std::memory_order_relaxed)) {
    in_window_.store(0, std::memory_order_relaxed);
  }
  if (in_window_.fetch_add(1, std::memory_order_relaxed) < burst_) {
    suppressed = dropped_.exchange(0, std::memory_order_relaxed);
    return true;
  }
  dropped_.fetch_add(1, std::memory_order_relaxed);
  return false;
}

void log_limited(RateLimiter& limiter, spdlog::level::level_enum level, const std::string& msg) {
  std::uint64_t suppressed = 0;
  if (!limiter.allow(suppressed)) return;
  auto lg = log();
  if (suppressed == 0) {
    lg->log(level, "{}", msg);
  } else {
    lg->log(level, "{} ({} similar messages suppressed)", msg, suppressed);
  }
}

}  // namespace detail
}  // namespace cachet
