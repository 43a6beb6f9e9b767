// The settings side of get_or_set's loading (load_options.hpp, cache.hpp):
// validating options, a cache's load defaults and loader threads, stopping
// background loads, and the distributed lock's entry points. The algorithm is
// in loading.cpp.
#include <stdexcept>
#include <string>
#include <utility>

#include "cachet/cache.hpp"
#include "cachet/errors.hpp"
#include "core/cache_core.hpp"

namespace cachet {

namespace {

using std::chrono::milliseconds;

std::string ms_text(milliseconds ms) { return std::to_string(ms.count()) + " ms"; }

}  // namespace

void LoadOptions::validate() const {
  auto negative = [](const char* name, milliseconds v) {
    if (v.count() < 0) {
      throw std::invalid_argument(std::string("LoadOptions.") + name + "=" + ms_text(v) +
                                  " is invalid; accepted: 0 or a positive duration");
    }
  };
  negative("fail_safe_max", fail_safe_max);
  negative("fail_safe_throttle", fail_safe_throttle);
  negative("soft_timeout", soft_timeout);
  negative("hard_timeout", hard_timeout);
  if (lock_timeout.count() <= 0) {
    throw std::invalid_argument("LoadOptions.lock_timeout=" + ms_text(lock_timeout) +
                                " is invalid; accepted: a positive duration");
  }
  if (!(eager_refresh >= 0.0 && eager_refresh < 1.0)) {
    throw std::invalid_argument("LoadOptions.eager_refresh=" + std::to_string(eager_refresh) +
                                " is invalid; accepted: 0 (off) or a fraction in (0, 1), e.g. 0.8");
  }
  if (hard_timeout.count() > 0 && soft_timeout.count() > 0 && hard_timeout < soft_timeout) {
    throw std::invalid_argument("LoadOptions.hard_timeout=" + ms_text(hard_timeout) +
                                " is invalid; accepted: 0 (none) or a duration >= soft_timeout (" +
                                ms_text(soft_timeout) + ")");
  }
}

void Cache::set_load_defaults(const LoadOptions& defaults) {
  defaults.validate();
  std::lock_guard<std::mutex> lock(core_->loading.mu);
  core_->loading.defaults = defaults;
  core_->loading.defaults.ttl = Ttl{};
  const LoadOptions unset;
  const LoadOptions& d = core_->loading.defaults;
  const bool any = d.fail_safe || d.fail_safe_max != unset.fail_safe_max ||
                   d.fail_safe_throttle != unset.fail_safe_throttle || d.soft_timeout != unset.soft_timeout ||
                   d.hard_timeout != unset.hard_timeout || d.eager_refresh != unset.eager_refresh ||
                   d.distributed_lock || d.lock_timeout != unset.lock_timeout;
  core_->loading.has_defaults.store(any, std::memory_order_release);
}

LoadOptions Cache::load_defaults() const {
  std::lock_guard<std::mutex> lock(core_->loading.mu);
  return core_->loading.defaults;
}

void Cache::set_load_executor(LoadExecutor executor) {
  std::lock_guard<std::mutex> lock(core_->loading.mu);
  core_->loading.executor = std::move(executor);
}

void Cache::set_loader_threads(std::size_t threads) {
  if (threads == 0) throw std::invalid_argument("Cache::set_loader_threads(0): accepted: 1 or more threads");
  std::lock_guard<std::mutex> lock(core_->loading.mu);
  core_->loading.threads = threads;
}

void Cache::stop_background_loads() noexcept {
  auto& st = core_->loading;
  std::unique_ptr<detail::LoaderPool> pool;
  {
    std::lock_guard<std::mutex> lock(st.mu);
    st.stopped = true;
    pool = std::move(st.pool);
  }
  st.guard->close();     // waits for loads in progress
  if (pool) pool->stop();  // drops queued loads (their waiters get an error), joins
}

LockResult Cache::try_lock(std::string_view lock_key, std::string_view token, Ttl ttl) {
  try {
    return do_try_lock(lock_key, token, ttl);
  } catch (const BackendError&) {
    return LockResult::unavailable;
  }
}

void Cache::unlock(std::string_view lock_key, std::string_view token) {
  try {
    do_unlock(lock_key, token);
  } catch (const BackendError&) {
    // The lock expires by itself after its ttl.
  }
}

LockResult Cache::do_try_lock(std::string_view, std::string_view, Ttl) { return LockResult::acquired; }
void Cache::do_unlock(std::string_view, std::string_view) {}

}  // namespace cachet
