// Internal: the circuit breaker of FallbackCache — its state, the cooldown with
// exponential backoff and jitter, and the background thread that runs a probe
// when the cooldown is over. It knows nothing of caches: the owner reports
// successes and failures, and supplies the probe.
//
// Thread safety: every method may be called from any thread. The listener runs
// on the thread that changed the state (possibly the prober), with no lock
// held; it must not call back into the breaker's owner.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <random>
#include <string>
#include <thread>

#include "cachet/fallback_cache.hpp"

namespace cachet::detail {

class Breaker {
 public:
  struct Settings {
    int failure_threshold = 3;  ///< consecutive failures that open it (>= 1)
    std::chrono::milliseconds cooldown{5000};
    std::chrono::milliseconds max_cooldown{60000};
  };
  /// Called on every state change with the reason ("probe failed", the error, ...).
  using Listener = std::function<void(BreakerState from, BreakerState to, const std::string& why)>;

  Breaker(Settings settings, Listener listener);
  /// Stops the prober (waits for a probe in progress).
  ~Breaker();
  Breaker(const Breaker&) = delete;
  Breaker& operator=(const Breaker&) = delete;

  /// Starts the prober thread, which calls `probe` whenever the breaker is not
  /// closed and its cooldown is over (one call at a time). With `open` the
  /// breaker starts open (counted as a trip); the first probe is then due at
  /// once when `probe_at_once`, else after one cooldown. Call once.
  void start(std::function<void()> probe, bool open, bool probe_at_once);
  /// Stops the prober thread; the owner calls this before destroying what the
  /// probe uses. Idempotent.
  void stop();

  BreakerState state() const noexcept { return state_.load(std::memory_order_acquire); }
  bool closed() const noexcept { return state() == BreakerState::closed; }

  /// An operation on the protected backend succeeded: the failure run ends.
  void record_success() noexcept {
    if (consecutive_failures_.load(std::memory_order_relaxed) != 0) {
      consecutive_failures_.store(0, std::memory_order_relaxed);
    }
  }
  /// An operation failed. Opens the breaker (from closed) when `open_now` or
  /// when this is the failure_threshold-th consecutive failure.
  void record_failure(bool open_now, const std::string& why);

  /// The probe succeeded: open -> half_open.
  void half_open();
  /// A probe or the recovery failed: back to open, the cooldown doubled (at
  /// most max_cooldown), jittered by +-20%.
  void reopen(const std::string& why);
  /// Recovery finished: closed, cooldown and failure run reset.
  void close();

  /// Trips so far and total time spent not closed (including now).
  std::uint64_t trips() const noexcept { return trips_.load(std::memory_order_relaxed); }
  std::chrono::milliseconds time_open() const;

 private:
  using Clock = std::chrono::steady_clock;

  void trip(const std::string& why);
  void notify(BreakerState from, BreakerState to, const std::string& why);
  std::chrono::milliseconds jittered(std::chrono::milliseconds base);  // mu_ held
  void prober_loop(const std::function<void()>& probe);

  const Settings settings_;
  const Listener listener_;

  std::atomic<BreakerState> state_{BreakerState::closed};
  std::atomic<int> consecutive_failures_{0};
  std::atomic<std::uint64_t> trips_{0};

  mutable std::mutex mu_;  // serializes transitions; guards the fields below
  Clock::time_point opened_at_{};
  std::chrono::milliseconds total_open_{0};
  std::chrono::milliseconds current_cooldown_;
  Clock::time_point next_probe_{};
  std::mt19937_64 rng_{std::random_device{}()};

  std::mutex prober_mu_;
  std::condition_variable prober_cv_;
  bool stopping_ = false;  // guarded by prober_mu_
  std::thread prober_;
};

}  // namespace cachet::detail
