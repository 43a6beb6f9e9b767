// get_or_set with LoadOptions: fail-safe (stale values served when loading
// fails), soft and hard timeouts, eager refresh and the distributed lock, on
// top of the in-process single-flight. The contract is in
// include/cachet/load_options.hpp; docs/loading.md has the timelines.
//
// Shape: the caller that leads a key's flight builds a Job (re-check, lock,
// loader, store) and runs it inline when no timeout applies, else on the loader
// threads; every caller, leader or not, then waits on the flight up to its own
// deadlines and decides from its own stale value what it answers.
#include <chrono>
#include <cmath>
#include <random>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>

#include "cachet/cache.hpp"
#include "cachet/errors.hpp"
#include "core/cache_core.hpp"
#include "core/entry_header.hpp"
#include "core/log.hpp"

namespace cachet {

using std::chrono::milliseconds;
using Clock = std::chrono::steady_clock;

namespace {

// The lock key of `key`: 0xFF never starts UTF-8 text, so it cannot collide
// with a text key; the backend puts it under its prefix.
std::string lock_key_for(std::string_view key) {
  std::string k("\xFF" "cachet-lock:");
  k.append(key.data(), key.size());
  return k;
}

std::string random_token() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  static constexpr char kHex[] = "0123456789abcdef";
  std::string t(32, '0');
  for (int half = 0; half < 2; ++half) {
    std::uint64_t r = rng();
    for (int i = 0; i < 16; ++i, r >>= 4) t[static_cast<std::size_t>(half * 16 + i)] = kHex[r & 0xF];
  }
  return t;
}

std::string ms_text(milliseconds ms) { return std::to_string(ms.count()) + " ms"; }

// Waiting for another process's lock ran out while a stale value exists: the
// callers serve it (fail-safe) instead of loading themselves.
class LockWaitExpired : public TimeoutError {
 public:
  explicit LockWaitExpired(milliseconds lock_timeout)
      : TimeoutError("get_or_set: another process held the distributed lock for lock_timeout=" +
                     ms_text(lock_timeout)) {}
};

detail::RateLimiter& stale_log() {
  static detail::RateLimiter limiter{5, std::chrono::seconds(10)};
  return limiter;
}

}  // namespace

namespace detail {

/// get_or_set's algorithm; a friend of Cache, so it may call the do_* virtuals
/// and reach the core.
class Loading {
 public:
  using Flight = SingleFlight::Flight;

  // One load of one key: re-check, distributed lock, loader, store; then the
  // flight is completed for every waiter. Owned by a shared_ptr: when a
  // background task is dropped unrun (the cache is being destroyed), the
  // destructor still completes the waiters.
  struct Job {
    Cache* cache = nullptr;
    std::shared_ptr<LifetimeGuard> guard;
    std::string key;
    LoadOptions opt;
    Ttl ttl;                                 // resolved freshness
    std::shared_ptr<Flight> flight;
    std::optional<std::string> stale;        // payload of a stale entry (fail_safe)
    EntryHeader stale_header;
    const LoaderRef* inline_loader = nullptr;  // the caller's loader (inline runs only)
    std::shared_ptr<OwnedLoader> owned;        // a copy (background runs)
    bool refresh = false;                    // eager refresh: load even though a fresh value is stored
    bool finished = false;

    ~Job() {
      if (finished) return;
      // Never run: dropped by an executor, or by the cache's own pool while the
      // cache is destroyed. While the cache lives, complete the flight as usual;
      // else complete the waiters without touching the cache.
      const auto gone = std::make_exception_ptr(Error("get_or_set: the load was dropped before it ran"));
      if (guard && guard->enter()) {
        finish_error(gone);
        guard->leave();
        return;
      }
      {
        std::lock_guard<std::mutex> lock(flight->mu);
        flight->error = gone;
        flight->done = true;
      }
      flight->cv.notify_all();
    }

    void finish_value(std::string value) {
      flight->value = std::move(value);  // published under finish()'s lock
      cache->core_->flights.finish(key, flight);
      finished = true;
    }
    void finish_error(std::exception_ptr e) {
      flight->error = std::move(e);
      cache->core_->flights.finish(key, flight);
      finished = true;
    }

    std::string load() { return owned ? owned->load() : inline_loader->call(inline_loader->ctx); }

    // A fresh value stored now (plain or with its header), if any.
    std::optional<std::string> fresh_now() {
      auto v = cache->do_get(key);
      if (!v || !looks_like_entry(*v)) return v;
      const auto h = parse_entry(*v);
      if (!h) return v;
      if (unix_now_ms() >= h->fresh_until_ms) return std::nullopt;
      return std::string(entry_payload(*v));
    }

    void store(const std::string& value) {
      if (!(opt.fail_safe || opt.eager_refresh > 0) || !ttl.is_finite()) {
        cache->set(key, value, opt.ttl);
        return;
      }
      const std::int64_t now = unix_now_ms();
      const std::int64_t fresh_ms = ttl.duration().count();
      const std::int64_t extra_ms = opt.fail_safe ? opt.fail_safe_max.count() : 0;
      EntryHeader h;
      h.written_at_ms = now;
      h.fresh_until_ms = now + fresh_ms;
      h.stale_until_ms = h.fresh_until_ms + extra_ms;
      cache->set(key, make_entry(h, value), Ttl(milliseconds(fresh_ms + extra_ms)));
    }

    // The loader failed and a stale value will be served: store it again as
    // fresh for fail_safe_throttle, so the failing source is left alone
    // meanwhile; it may never outlive its stale_until.
    void throttle_stale() {
      const std::int64_t now = unix_now_ms();
      const std::int64_t left = stale_header.stale_until_ms - now;
      if (left <= 0) return;
      EntryHeader h = stale_header;
      h.flags |= kEntryThrottled;
      h.written_at_ms = now;
      h.fresh_until_ms = now + std::min<std::int64_t>(opt.fail_safe_throttle.count(), left);
      try {
        cache->set(key, make_entry(h, *stale), Ttl(milliseconds(left)));
      } catch (...) {
        // Under ErrorPolicy::Throw a failed store is the backend's to report; serving goes on.
      }
    }

    // Waits (bounded by lock_timeout) for the process holding the lock to
    // store the value. The value, if it came; else nullopt.
    std::optional<std::string> wait_for_holder(const std::string& lock_key, const std::string& token, bool& got_lock) {
      cache->count(Counter::lock_waits);
      const auto deadline = Clock::now() + opt.lock_timeout;
      milliseconds pause(2);
      while (Clock::now() < deadline) {
        std::this_thread::sleep_for(std::min<Clock::duration>(pause, deadline - Clock::now()));
        pause = std::min(pause * 2, milliseconds(50));
        if (auto v = fresh_now()) return v;
        // The holder may have died or given up: try to take over.
        if (cache->try_lock(lock_key, token, Ttl(opt.lock_timeout)) != LockResult::held_elsewhere) {
          got_lock = true;
          return fresh_now();
        }
      }
      cache->count(Counter::lock_timeouts);
      return std::nullopt;
    }

    void run() {
      std::string lock_key;
      std::string token;
      bool locked = false;
      try {
        if (!refresh) {
          if (auto v = fresh_now()) return finish_value(std::move(*v));  // another loader was quicker
        }
        if (opt.distributed_lock) {
          lock_key = lock_key_for(key);
          token = random_token();
          const LockResult r = cache->try_lock(lock_key, token, Ttl(opt.lock_timeout));
          locked = r == LockResult::acquired;
          if (r == LockResult::held_elsewhere) {
            auto v = wait_for_holder(lock_key, token, locked);
            if (v) {
              if (locked) cache->unlock(lock_key, token);
              return finish_value(std::move(*v));
            }
            if (!locked && stale) throw LockWaitExpired(opt.lock_timeout);
            // No value and nothing stale: load without the lock.
          } else if (locked && !refresh) {
            if (auto v = fresh_now()) {  // stored by the previous holder just before we took it
              cache->unlock(lock_key, token);
              return finish_value(std::move(*v));
            }
          }
        }
        std::string value = load();
        store(value);
        if (locked) cache->unlock(lock_key, token);
        finish_value(std::move(value));
      } catch (...) {
        if (locked) cache->unlock(lock_key, token);
        if (stale) throttle_stale();
        finish_error(std::current_exception());
      }
    }
  };

  static LoadOptions merged(const Cache& cache, const LoadOptions& call) {
    if (!call.use_cache_defaults || !cache.core_->loading.has_defaults.load(std::memory_order_acquire)) return call;
    LoadOptions d;
    {
      std::lock_guard<std::mutex> lock(cache.core_->loading.mu);
      d = cache.core_->loading.defaults;
    }
    const LoadOptions unset;
    LoadOptions o = call;
    if (!o.fail_safe) o.fail_safe = d.fail_safe;
    if (o.fail_safe_max == unset.fail_safe_max) o.fail_safe_max = d.fail_safe_max;
    if (o.fail_safe_throttle == unset.fail_safe_throttle) o.fail_safe_throttle = d.fail_safe_throttle;
    if (o.soft_timeout == unset.soft_timeout) o.soft_timeout = d.soft_timeout;
    if (o.hard_timeout == unset.hard_timeout) o.hard_timeout = d.hard_timeout;
    if (o.eager_refresh == unset.eager_refresh) o.eager_refresh = d.eager_refresh;
    if (!o.distributed_lock) o.distributed_lock = d.distributed_lock;
    if (o.lock_timeout == unset.lock_timeout) o.lock_timeout = d.lock_timeout;
    return o;
  }

  // Hands `job` to the executor. False when it could not be queued.
  static bool submit(Cache& cache, std::shared_ptr<Job> job) {
    auto& st = cache.core_->loading;
    std::function<void()> task = [job = std::move(job)] {
      if (!job->guard->enter()) return;  // the cache is being destroyed: ~Job completes the waiters
      job->cache->count(Counter::background_loads);
      job->run();
      job->guard->leave();
    };
    LoadExecutor executor;
    {
      std::lock_guard<std::mutex> lock(st.mu);
      if (st.stopped) return false;
      if (!st.executor) {
        if (!st.pool) st.pool = std::make_unique<LoaderPool>(st.threads);
        return st.pool->submit(task);
      }
      executor = st.executor;
    }
    try {
      executor(std::move(task));
    } catch (...) {
      return false;  // refused: the caller runs the load itself
    }
    return true;
  }

  // An eager refresh of a fresh hit: one background load per key, nobody waits.
  static void refresh(Cache& cache, std::string_view key, const LoaderRef& loader, const LoadOptions& o, Ttl ttl) {
    const std::string k(key);
    auto [flight, leader] = cache.core_->flights.join(k);
    if (!leader) return;  // a load of this key is running already
    auto job = std::make_shared<Job>();
    job->cache = &cache;
    job->guard = cache.core_->loading.guard;
    job->key = k;
    job->opt = o;
    job->ttl = ttl;
    job->flight = flight;
    job->refresh = true;
    job->owned = loader.own(loader.ctx);
    if (!job->owned) {
      // A non-copyable loader passed as an lvalue cannot run later: no refresh.
      job->finish_error(std::make_exception_ptr(
          Error("get_or_set: eager refresh needs a copyable loader or an rvalue loader")));
      return;
    }
    cache.count(Counter::eager_refreshes);
    if (!submit(cache, job)) job->finish_error(std::make_exception_ptr(Error("get_or_set: loader queue full")));
  }

  static std::string serve_stale(Cache& cache, const std::string& stale, const std::string& why) {
    cache.count(Counter::stale_served);
    detail::log_limited(stale_log(), spdlog::level::warn, "cachet: get_or_set served a stale value (fail-safe): " + why);
    return stale;
  }

  static std::string await(Cache& cache, Flight& f, const LoadOptions& o, const std::optional<std::string>& stale,
                           Clock::time_point start) {
    std::unique_lock<std::mutex> lock(f.mu);
    auto done = [&f] { return f.done; };
    if (stale && o.soft_timeout.count() > 0 && !f.cv.wait_until(lock, start + o.soft_timeout, done)) {
      cache.count(Counter::loader_timeouts);
      return serve_stale(cache, *stale, "the loader is still running after soft_timeout=" + ms_text(o.soft_timeout));
    }
    if (o.hard_timeout.count() > 0) {
      if (!f.cv.wait_until(lock, start + o.hard_timeout, done)) {
        cache.count(Counter::loader_timeouts);
        if (stale) {
          return serve_stale(cache, *stale,
                             "the loader is still running after hard_timeout=" + ms_text(o.hard_timeout));
        }
        throw TimeoutError("get_or_set: the loader did not finish within hard_timeout=" + ms_text(o.hard_timeout) +
                           " and there is no stale value to serve; it goes on in the background");
      }
    } else {
      f.cv.wait(lock, done);
    }
    if (f.error) {
      if (stale) {
        std::string why;
        try {
          std::rethrow_exception(f.error);
        } catch (const LockWaitExpired& e) {
          why = e.what();
        } catch (const std::exception& e) {
          why = std::string("the loader failed: ") + e.what();
        } catch (...) {
          why = "the loader failed with a non-standard exception";
        }
        return serve_stale(cache, *stale, why);
      }
      std::rethrow_exception(f.error);
    }
    return *f.value;
  }

  static std::string get_or_set(Cache& cache, std::string_view key, const LoaderRef& loader, const LoadOptions& call) {
    auto raw = cache.do_get(key);
    if (raw && !looks_like_entry(*raw)) {  // the common hit: plain bytes, nothing to decide
      cache.count(Counter::hits);
      return std::move(*raw);
    }
    call.validate();  // not on the plain hit above: it costs more than the rest of it
    const auto start = Clock::now();  // timeouts count from here: no fresh value was found
    const LoadOptions o = merged(cache, call);
    std::optional<std::string> stale;
    EntryHeader stale_header;
    if (raw) {
      const auto h = parse_entry(*raw);
      if (!h) {
        cache.count(Counter::hits);
        return std::move(*raw);
      }
      const std::int64_t now = unix_now_ms();
      if (now < h->fresh_until_ms) {
        cache.count(Counter::hits);
        const std::int64_t age = now - h->written_at_ms;
        const std::int64_t life = h->fresh_until_ms - h->written_at_ms;
        if (o.eager_refresh > 0 && !h->throttled() &&
            static_cast<double>(age) >= o.eager_refresh * static_cast<double>(life)) {
          refresh(cache, key, loader, o, o.ttl.resolve(cache.default_timeout()));
        }
        raw->erase(0, kEntryHeaderSize);
        return std::move(*raw);
      }
      if (o.fail_safe && now < h->stale_until_ms) {
        raw->erase(0, kEntryHeaderSize);
        stale = std::move(raw);
        stale_header = *h;
      }
    }
    cache.count(Counter::misses);

    const std::string k(key);
    auto [flight, leader] = cache.core_->flights.join(k);
    if (leader) {
      auto job = std::make_shared<Job>();
      job->cache = &cache;
      job->guard = cache.core_->loading.guard;
      job->key = k;
      job->opt = o;
      job->ttl = o.ttl.resolve(cache.default_timeout());
      job->flight = flight;
      job->stale = stale;
      job->stale_header = stale_header;
      const bool timed = (stale && o.soft_timeout.count() > 0) || o.hard_timeout.count() > 0;
      bool queued = false;
      if (timed) {
        job->owned = loader.own(loader.ctx);
        if (!job->owned) {
          job->finish_error(std::make_exception_ptr(std::invalid_argument(
              "get_or_set: soft_timeout and hard_timeout run the loader in the background, which needs a copyable "
              "loader or an rvalue loader")));
        } else {
          queued = submit(cache, job);
        }
      }
      if (!queued && !job->finished) {  // (once queued, `finished` belongs to the loader thread)
        // No timeout applies (or the loader queue is full): run it here.
        job->inline_loader = &loader;
        job->run();
      }
    }
    return await(cache, *flight, o, stale, start);
  }
};

}  // namespace detail

std::string Cache::get_or_set_erased(std::string_view key, const detail::LoaderRef& loader,
                                     const LoadOptions& options) {
  return detail::Loading::get_or_set(*this, key, loader, options);
}

}  // namespace cachet
