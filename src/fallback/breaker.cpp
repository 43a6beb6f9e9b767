#include "fallback/breaker.hpp"

#include <algorithm>
#include <utility>

namespace cachet::detail {

using std::chrono::milliseconds;

Breaker::Breaker(Settings settings, Listener listener)
    : settings_(settings), listener_(std::move(listener)), current_cooldown_(settings.cooldown) {}

Breaker::~Breaker() { stop(); }

void Breaker::start(std::function<void()> probe, bool open, bool probe_at_once) {
  if (open) {
    std::lock_guard<std::mutex> lock(mu_);
    state_.store(BreakerState::open, std::memory_order_release);
    opened_at_ = Clock::now();
    next_probe_ = probe_at_once ? opened_at_ : opened_at_ + settings_.cooldown;
    trips_.fetch_add(1, std::memory_order_relaxed);
  }
  prober_ = std::thread([this, probe = std::move(probe)] { prober_loop(probe); });
}

void Breaker::stop() {
  {
    std::lock_guard<std::mutex> lock(prober_mu_);
    stopping_ = true;
  }
  prober_cv_.notify_all();
  if (prober_.joinable()) prober_.join();
}

milliseconds Breaker::jittered(milliseconds base) {
  std::uniform_real_distribution<double> d(0.8, 1.2);
  return milliseconds(static_cast<std::int64_t>(static_cast<double>(base.count()) * d(rng_)));
}

void Breaker::notify(BreakerState from, BreakerState to, const std::string& why) {
  if (listener_) listener_(from, to, why);
}

void Breaker::record_failure(bool open_now, const std::string& why) {
  const int run = consecutive_failures_.fetch_add(1, std::memory_order_relaxed) + 1;
  if (open_now || run >= settings_.failure_threshold) trip(why);
}

// Opens the breaker from closed. Idempotent: only the first caller trips it.
void Breaker::trip(const std::string& why) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (state_.load(std::memory_order_relaxed) != BreakerState::closed) return;
    state_.store(BreakerState::open, std::memory_order_release);
    trips_.fetch_add(1, std::memory_order_relaxed);
    opened_at_ = Clock::now();
    current_cooldown_ = settings_.cooldown;
    next_probe_ = opened_at_ + jittered(current_cooldown_);
  }
  prober_cv_.notify_all();
  notify(BreakerState::closed, BreakerState::open, why);
}

void Breaker::half_open() {
  BreakerState from;
  {
    std::lock_guard<std::mutex> lock(mu_);
    from = state_.exchange(BreakerState::half_open, std::memory_order_acq_rel);
  }
  if (from != BreakerState::half_open) notify(from, BreakerState::half_open, "probe succeeded");
}

void Breaker::reopen(const std::string& why) {
  BreakerState from;
  {
    std::lock_guard<std::mutex> lock(mu_);
    from = state_.exchange(BreakerState::open, std::memory_order_acq_rel);
    current_cooldown_ = std::min(settings_.max_cooldown, current_cooldown_ * 2);
    next_probe_ = Clock::now() + jittered(current_cooldown_);
  }
  if (from != BreakerState::open) notify(from, BreakerState::open, why);
}

void Breaker::close() {
  BreakerState from;
  {
    std::lock_guard<std::mutex> lock(mu_);
    from = state_.exchange(BreakerState::closed, std::memory_order_acq_rel);
    total_open_ += std::chrono::duration_cast<milliseconds>(Clock::now() - opened_at_);
    current_cooldown_ = settings_.cooldown;
  }
  consecutive_failures_.store(0, std::memory_order_relaxed);
  if (from != BreakerState::closed) notify(from, BreakerState::closed, "recovered");
}

milliseconds Breaker::time_open() const {
  std::lock_guard<std::mutex> lock(mu_);
  milliseconds t = total_open_;
  if (state_.load(std::memory_order_relaxed) != BreakerState::closed) {
    t += std::chrono::duration_cast<milliseconds>(Clock::now() - opened_at_);
  }
  return t;
}

void Breaker::prober_loop(const std::function<void()>& probe) {
  std::unique_lock<std::mutex> lock(prober_mu_);
  while (!stopping_) {
    if (closed()) {
      prober_cv_.wait_for(lock, std::chrono::seconds(1));
      continue;
    }
    Clock::time_point due;
    {
      std::lock_guard<std::mutex> slock(mu_);
      due = next_probe_;
    }
    if (Clock::now() < due) {
      prober_cv_.wait_until(lock, due);
      continue;
    }
    lock.unlock();
    probe();
    lock.lock();
  }
}

}  // namespace cachet::detail
