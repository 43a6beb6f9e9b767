// Per-cache metrics state (op_metrics.hpp), the observer calls, and the Cache
// members that expose them (latency, set_observer, ...).
#include "metrics/op_metrics.hpp"

#include <exception>
#include <string>
#include <utility>

#include "cachet/cache.hpp"
#include "core/cache_core.hpp"
#include "core/log.hpp"
#include "metrics/exposition.hpp"

namespace cachet {

namespace metrics {

namespace {

detail::RateLimiter& observer_log() {
  static detail::RateLimiter limiter{5, std::chrono::seconds(10)};
  return limiter;
}

// Runs one observer call; what it throws is logged (rate-limited) and dropped.
template <class F>
void guarded(CacheObserver* observer, const char* event, F&& call) noexcept {
  if (observer == nullptr) return;
  try {
    call(*observer);
  } catch (const std::exception& e) {
    detail::log_limited(observer_log(), spdlog::level::err,
                        std::string("cachet: the cache observer threw from ") + event + ": " + e.what());
  } catch (...) {
    detail::log_limited(observer_log(), spdlog::level::err,
                        std::string("cachet: the cache observer threw a non-standard exception from ") + event);
  }
}

}  // namespace

std::uint64_t& thread_failures() noexcept {
  thread_local std::uint64_t failures = 0;
  return failures;
}

CacheMetrics::~CacheMetrics() {
  registration->alive.store(false, std::memory_order_release);
  const int n = registration->registries.load(std::memory_order_acquire);
  if (n != 0) {
    detail::log()->error(
        "cachet: a cache was destroyed while still registered in {} MetricsRegistry entr{}; call "
        "MetricsRegistry::remove() before destroying it (scrapes will skip it)",
        n, n == 1 ? "y" : "ies");
  }
}

std::uint64_t CacheMetrics::calls(Op op) const noexcept {
  std::uint64_t total = 0;
  for (const auto& s : stripes_) total += s.calls[static_cast<std::size_t>(op)].load(std::memory_order_relaxed);
  return total;
}

void CacheMetrics::set_observer(std::shared_ptr<CacheObserver> observer) {
  std::lock_guard<std::mutex> lock(observers_mu_);
  if (observer) observers_.push_back(observer);
  observer_.store(observer.get(), std::memory_order_release);
}

void CacheMetrics::operation_done(const Cache& cache, Op op, OpOutcome outcome, std::uint64_t ns) const noexcept {
  guarded(observer(), "on_operation", [&](CacheObserver& o) {
    o.on_operation(cache, op, outcome, std::chrono::nanoseconds(static_cast<std::int64_t>(ns)));
  });
}

void CacheMetrics::failure(const Cache& cache, ErrorKind kind, std::string_view endpoint) const noexcept {
  ++thread_failures();
  guarded(observer(), "on_error", [&](CacheObserver& o) { o.on_error(cache, kind, endpoint); });
}

void CacheMetrics::breaker_changed(const Cache& cache, BreakerState from, BreakerState to) const noexcept {
  guarded(observer(), "on_breaker_state", [&](CacheObserver& o) { o.on_breaker_state(cache, from, to); });
}

void CacheMetrics::evicted(const Cache& cache, std::uint64_t n) const noexcept {
  guarded(observer(), "on_evictions", [&](CacheObserver& o) { o.on_evictions(cache, n); });
}

}  // namespace metrics

const char* to_string(Op op) noexcept {
  switch (op) {
    case Op::get: return "get";
    case Op::set: return "set";
    case Op::add: return "add";
    case Op::remove: return "remove";
    case Op::get_many: return "get_many";
    case Op::set_many: return "set_many";
    case Op::remove_many: return "remove_many";
    case Op::increment: return "increment";
    case Op::get_or_set: return "get_or_set";
    case Op::load: return "load";
    case Op::count_: break;
  }
  return "unknown";
}

const char* to_string(OpOutcome outcome) noexcept {
  switch (outcome) {
    case OpOutcome::hit: return "hit";
    case OpOutcome::miss: return "miss";
    case OpOutcome::ok: return "ok";
    case OpOutcome::rejected: return "rejected";
    case OpOutcome::error: return "error";
  }
  return "unknown";
}

CacheObserver::~CacheObserver() = default;
void CacheObserver::on_operation(const Cache&, Op, OpOutcome, std::chrono::nanoseconds) {}
void CacheObserver::on_error(const Cache&, ErrorKind, std::string_view) {}
void CacheObserver::on_breaker_state(const Cache&, BreakerState, BreakerState) {}
void CacheObserver::on_evictions(const Cache&, std::uint64_t) {}

LatencySnapshot Cache::latency(Op op) const {
  if (op == Op::count_) throw std::invalid_argument("Cache::latency(Op::count_): accepted: an operation kind");
  const auto& m = core_->metrics;
  LatencySnapshot s;
  s.calls = m.calls(op);
  m.timing[static_cast<std::size_t>(op)].histogram().read(s);
  return s;
}

void Cache::set_metrics_enabled(bool enabled) noexcept {
  core_->metrics.enabled.store(enabled, std::memory_order_relaxed);
}

bool Cache::metrics_enabled() const noexcept { return core_->metrics.enabled.load(std::memory_order_relaxed); }

void Cache::set_observer(std::shared_ptr<CacheObserver> observer) { core_->metrics.set_observer(std::move(observer)); }

void Cache::notify_breaker_state(BreakerState from, BreakerState to) const noexcept {
  core_->metrics.breaker_changed(*this, from, to);
}

void Cache::collect_metrics(MetricsWriter&) const {}

std::shared_ptr<metrics::Registration> metrics::MetricsAccess::registration(const Cache& cache) {
  return cache.core_->metrics.registration;
}

}  // namespace cachet
