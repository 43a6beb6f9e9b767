// Internal: what every Cache carries for metrics — exact call counts and a
// sampled latency histogram per Op, the observer, and the registration token
// MetricsRegistry uses to notice a cache destroyed while registered.
//
// The hot path is OpScope: per call it bumps the calling thread's call counter
// (a plain load and store on a stripe only this thread writes, as the
// statistics do), and reads the clock only for a sampled call or when an
// observer is registered.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "cachet/metrics.hpp"
#include "cachet/observer.hpp"
#include "metrics/histogram.hpp"

namespace cachet::metrics {

constexpr std::size_t kOps = static_cast<std::size_t>(Op::count_);

inline std::uint64_t now_ns() noexcept {
  return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                        std::chrono::steady_clock::now().time_since_epoch())
                                        .count());
}

/// Backend failures counted by this thread (any cache): an OpScope compares it
/// before and after the call to tell a FailOpen failure from a plain miss.
std::uint64_t& thread_failures() noexcept;

/// Shared by a cache and the registries holding it.
struct Registration {
  std::atomic<int> registries{0};  // entries naming this cache
  std::atomic<bool> alive{true};   // false once the cache's base destructor ran
};

class CacheMetrics {
 public:
  static constexpr std::size_t kStripes = 16;  // as StripedCounters: indexed by the thread's stripe

  CacheMetrics() = default;
  ~CacheMetrics();  // detects a cache destroyed while registered
  CacheMetrics(const CacheMetrics&) = delete;
  CacheMetrics& operator=(const CacheMetrics&) = delete;

  std::atomic<bool> enabled{true};
  std::array<SampledHistogram, kOps> timing;
  const std::shared_ptr<Registration> registration = std::make_shared<Registration>();

  /// The number of the call about to be made on this stripe (exact count - 1).
  std::uint64_t next_call(Op op, std::size_t stripe, bool exclusive) noexcept {
    auto& cell = stripes_[stripe].calls[static_cast<std::size_t>(op)];
    if (!exclusive) return cell.fetch_add(1, std::memory_order_relaxed);
    const std::uint64_t n = cell.load(std::memory_order_relaxed);
    cell.store(n + 1, std::memory_order_relaxed);
    return n;
  }
  std::uint64_t calls(Op op) const noexcept;

  CacheObserver* observer() const noexcept { return observer_.load(std::memory_order_acquire); }
  /// Replaced observers are kept until the cache is destroyed: a call in flight may still hold one.
  void set_observer(std::shared_ptr<CacheObserver> observer);

  // Each calls the observer, if any, catching and logging what it throws.
  void operation_done(const Cache& cache, Op op, OpOutcome outcome, std::uint64_t ns) const noexcept;
  void failure(const Cache& cache, ErrorKind kind, std::string_view endpoint) const noexcept;
  void breaker_changed(const Cache& cache, BreakerState from, BreakerState to) const noexcept;
  void evicted(const Cache& cache, std::uint64_t n) const noexcept;

 private:
  struct alignas(128) Stripe {
    std::array<std::atomic<std::uint64_t>, kOps> calls{};
  };
  std::array<Stripe, kStripes> stripes_{};
  std::atomic<CacheObserver*> observer_{nullptr};
  std::mutex observers_mu_;
  std::vector<std::shared_ptr<CacheObserver>> observers_;  // guarded by observers_mu_: current and replaced
};

/// Times and counts one public operation: construct it first thing, set the
/// outcome before returning; the destructor records (an exception leaves the
/// outcome `error`).
class OpScope {
 public:
  OpScope(const Cache& cache, CacheMetrics& m, Op op, std::size_t stripe, bool exclusive) noexcept
      : cache_(cache), m_(m), op_(op) {
    if (m.enabled.load(std::memory_order_relaxed)) {
      mask_ = m.timing[static_cast<std::size_t>(op)].mask();
      sampled_ = (m.next_call(op, stripe, exclusive) & mask_) == 0;
    }
    observer_ = m.observer() != nullptr;
    if (observer_) failures_ = thread_failures();
    if (sampled_ || observer_) start_ns_ = now_ns();
  }
  ~OpScope() {
    if (!sampled_ && !observer_) return;
    const std::uint64_t ns = now_ns() - start_ns_;
    if (sampled_) m_.timing[static_cast<std::size_t>(op_)].record(ns, mask_);
    if (observer_) {
      m_.operation_done(cache_, op_, thread_failures() != failures_ ? OpOutcome::error : outcome_, ns);
    }
  }
  OpScope(const OpScope&) = delete;
  OpScope& operator=(const OpScope&) = delete;

  void outcome(OpOutcome o) noexcept { outcome_ = o; }
  /// ok when `done`, else rejected.
  void outcome(bool done) noexcept { outcome_ = done ? OpOutcome::ok : OpOutcome::rejected; }
  /// Returns f(), with the outcome ok when it returns (error when it throws).
  template <class F>
  auto run(F&& f) {
    auto result = f();
    outcome_ = OpOutcome::ok;
    return result;
  }

 private:
  const Cache& cache_;
  CacheMetrics& m_;
  const Op op_;
  bool sampled_ = false;
  bool observer_ = false;
  std::uint32_t mask_ = 0;
  OpOutcome outcome_ = OpOutcome::error;
  std::uint64_t failures_ = 0;
  std::uint64_t start_ns_ = 0;
};

}  // namespace cachet::metrics
