// FallbackCache: circuit breaker + journal over a primary and a secondary cache.
// The contract (what is replayed, what is guaranteed) is in
// include/cachet/fallback_cache.hpp; docs/failure-modes.md has the scenarios.
#include "cachet/fallback_cache.hpp"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include "cachet/errors.hpp"
#include "core/log.hpp"
#include "core/probe.hpp"

namespace cachet {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

void FallbackOptions::validate() const {
  if (failure_threshold < 1) {
    throw ConfigError("FallbackOptions.failure_threshold=" + std::to_string(failure_threshold) +
                      " is invalid; accepted: an integer >= 1");
  }
  if (cooldown.count() <= 0) {
    throw ConfigError("FallbackOptions.cooldown=" + std::to_string(cooldown.count()) +
                      "ms is invalid; accepted: a positive duration");
  }
  if (max_cooldown < cooldown) {
    throw ConfigError("FallbackOptions.max_cooldown=" + std::to_string(max_cooldown.count()) +
                      "ms is invalid; accepted: a duration >= cooldown (" + std::to_string(cooldown.count()) + "ms)");
  }
  if (journal_max < 1) {
    throw ConfigError("FallbackOptions.journal_max=0 is invalid; accepted: an integer >= 1");
  }
}

namespace {

// Recovery: journal size at which the remaining keys are replayed with writers
// held back, and the round after which that happens whatever the size.
constexpr std::size_t kDrainMax = 256;
constexpr int kMaxOpenRounds = 4;

// Is this failure an outage of the primary (counts toward the breaker), or an
// answer about one key that a healthy server gives (WRONGTYPE, not an integer)?
bool is_outage(const BackendError& e) {
  if (e.kind() != ErrorKind::reply) return true;
  const std::string_view what = e.what();
  return what.find("WRONGTYPE") == std::string_view::npos && what.find("not an integer") == std::string_view::npos &&
         what.find("overflow") == std::string_view::npos;
}

Counter kind_counter(ErrorKind k) {
  switch (k) {
    case ErrorKind::connection: return Counter::errors_connection;
    case ErrorKind::timeout: return Counter::errors_timeout;
    case ErrorKind::protocol: return Counter::errors_protocol;
    case ErrorKind::reply: return Counter::errors_reply;
    case ErrorKind::pool_exhausted: return Counter::errors_pool_exhausted;
  }
  return Counter::errors;
}

}  // namespace

struct FallbackCache::Impl {
  // What the journal remembers of one key: the latest kind of operation.
  struct Entry {
    enum class Kind { write, remove, delta } kind;
    std::int64_t delta = 0;  // for Kind::delta
    std::uint64_t seq = 0;   // order of the latest operation
  };
  // One step of a replay, prepared under the journal lock.
  struct Step {
    std::string key;
    Entry::Kind kind;
    std::int64_t delta = 0;
    std::optional<std::string> value;  // for write: the secondary's value (nullopt: gone -> delete)
    Ttl ttl;                            // for write: remaining time in the secondary
    std::uint64_t seq = 0;
  };

  FallbackCache& self;
  std::unique_ptr<Cache> primary;
  std::unique_ptr<Cache> secondary;
  FallbackOptions opt;

  std::atomic<BreakerState> state{BreakerState::closed};
  std::atomic<int> consecutive_failures{0};
  std::atomic<std::uint64_t> trips{0};

  std::mutex state_mu;  // serializes transitions and guards the timing fields below
  Clock::time_point opened_at{};
  milliseconds total_open{0};
  milliseconds current_cooldown;
  Clock::time_point next_probe{};

  std::mutex journal_mu;  // guards journal, next_seq, clear_pending
  std::unordered_map<std::string, Entry> journal;
  std::uint64_t next_seq = 0;
  bool clear_pending = false;
  std::atomic<std::size_t> journal_size{0};
  std::atomic<std::uint64_t> overflows{0};

  std::mutex probe_mu;  // one probe at a time
  std::mutex prober_mu;
  std::condition_variable prober_cv;
  bool stopping = false;  // guarded by prober_mu
  std::thread prober;

  detail::RateLimiter failure_log{5, std::chrono::seconds(10)};
  std::mt19937_64 rng{std::random_device{}()};  // guarded by state_mu

  Impl(FallbackCache& s, std::unique_ptr<Cache> p, std::unique_ptr<Cache> sec, FallbackOptions o)
      : self(s), primary(std::move(p)), secondary(std::move(sec)), opt(std::move(o)), current_cooldown(opt.cooldown) {
    if (!primary || !secondary) throw std::invalid_argument("FallbackCache: primary and secondary must not be null");
    opt.validate();
  }

  void start() {
    if (opt.start_open) {
      std::lock_guard<std::mutex> lock(state_mu);
      state.store(BreakerState::open);
      opened_at = Clock::now();
      next_probe = opt.probe_immediately_when_started_open ? Clock::now() : Clock::now() + opt.cooldown;
      trips.fetch_add(1);
    }
    prober = std::thread([this] { prober_loop(); });
    if (opt.start_open) {
      // The owner chose to start open (the factory does after a failed probe
      // and logs the warning with the reason itself): info, not a warning.
      detail::log()->info("cachet: started with the breaker open; serving from {} until {} answers a probe",
                          secondary->backend(), primary->backend());
      fire_callback(BreakerState::closed, BreakerState::open);
    }
  }

  ~Impl() {
    {
      std::lock_guard<std::mutex> lock(prober_mu);
      stopping = true;
    }
    prober_cv.notify_all();
    if (prober.joinable()) prober.join();
  }

  // ---- state transitions ------------------------------------------------

  milliseconds jittered(milliseconds base) {  // state_mu held
    std::uniform_real_distribution<double> d(0.8, 1.2);
    return milliseconds(static_cast<std::int64_t>(static_cast<double>(base.count()) * d(rng)));
  }

  void notify_state(BreakerState from, BreakerState to, const std::string& why) {
    auto lg = detail::log();
    if (to == BreakerState::open && from == BreakerState::closed) {
      lg->warn("cachet: {} unavailable ({}); serving from {} until it recovers", primary->backend(), why,
               secondary->backend());
    } else if (to == BreakerState::closed) {
      lg->info("cachet: {} recovered; breaker closed", primary->backend());
    }
    fire_callback(from, to);
  }

  void fire_callback(BreakerState from, BreakerState to) {
    if (!opt.on_state_change) return;
    try {
      opt.on_state_change(from, to);
    } catch (...) {
      // A throwing callback must not break the cache.
    }
  }

  // Opens the breaker (from closed). Idempotent: only the first caller trips it.
  void trip(const std::string& why) {
    {
      std::lock_guard<std::mutex> lock(state_mu);
      if (state.load() != BreakerState::closed) return;
      state.store(BreakerState::open);
      trips.fetch_add(1);
      opened_at = Clock::now();
      current_cooldown = opt.cooldown;
      next_probe = Clock::now() + jittered(current_cooldown);
    }
    prober_cv.notify_all();
    notify_state(BreakerState::closed, BreakerState::open, why);
  }

  // A probe or replay failed: back to open with a longer cooldown.
  void reopen() {
    BreakerState from;
    {
      std::lock_guard<std::mutex> lock(state_mu);
      from = state.exchange(BreakerState::open);
      current_cooldown = std::min(opt.max_cooldown, current_cooldown * 2);
      next_probe = Clock::now() + jittered(current_cooldown);
    }
    if (from != BreakerState::open) notify_state(from, BreakerState::open, "probe failed");
  }

  // ---- routing ------------------------------------------------------------

  // Records a failure of the primary; returns true when the caller should
  // fall through to the secondary (always, unless the error is not an outage).
  void on_failure(const BackendError& e, bool is_write) {
    self.count(Counter::errors);
    self.count(kind_counter(e.kind()));
    detail::log_limited(failure_log, spdlog::level::warn, std::string("cachet: primary failed: ") + e.what());
    // A write or invalidation that did not reach the primary must be replayed
    // before anything is read from the primary again, so it opens the breaker
    // at once; read failures open it after failure_threshold in a row.
    if (is_write || consecutive_failures.fetch_add(1) + 1 >= opt.failure_threshold) trip(e.what());
  }

  void on_success() {
    if (consecutive_failures.load(std::memory_order_relaxed) != 0) consecutive_failures.store(0, std::memory_order_relaxed);
  }

  bool closed() const noexcept { return state.load(std::memory_order_acquire) == BreakerState::closed; }

  // A read: primary while closed (falling back on failure), else the secondary.
  template <class R, class F>
  R read(F&& f) {
    if (closed()) {
      try {
        R r = f(*primary);
        on_success();
        return r;
      } catch (const BackendError& e) {
        if (!is_outage(e)) return R{};
        on_failure(e, false);
      }
    }
    self.count(Counter::secondary_ops);
    return f(*secondary);
  }

  // A write: primary while closed; otherwise (or when the primary fails) the
  // secondary, with the journal updated under the same lock so that the
  // recovery cannot close the breaker between the two.
  template <class R, class P, class S>
  R write(P&& on_primary, S&& on_secondary) {
    for (;;) {
      if (closed()) {
        try {
          R r = on_primary(*primary);
          on_success();
          return r;
        } catch (const BackendError& e) {
          if (!is_outage(e)) return R{};
          on_failure(e, true);
        }
      }
      std::lock_guard<std::mutex> lock(journal_mu);
      if (closed()) continue;  // recovered meanwhile: go to the primary
      self.count(Counter::secondary_ops);
      return on_secondary(*secondary);
    }
  }

  // ---- journal (journal_mu held) -------------------------------------------

  void record(std::string_view key, Entry::Kind kind, std::int64_t delta = 0) {
    auto it = journal.find(std::string(key));
    if (it == journal.end()) {
      if (journal.size() >= opt.journal_max) {
        // Overflow: forget the keys, clear the whole prefix on recovery instead.
        journal.clear();
        clear_pending = true;
        overflows.fetch_add(1);
      }
      it = journal.emplace(std::string(key), Entry{kind, delta, 0}).first;
    } else if (kind == Entry::Kind::delta) {
      // Increment after a write or remove: the secondary holds the final value.
      if (it->second.kind == Entry::Kind::delta) {
        it->second.delta += delta;
      } else {
        it->second.kind = Entry::Kind::write;
      }
    } else {
      it->second.kind = kind;
      it->second.delta = 0;
    }
    it->second.seq = next_seq++;
    journal_size.store(journal.size(), std::memory_order_relaxed);
  }

  void record_clear() {
    journal.clear();
    clear_pending = true;
    journal_size.store(0, std::memory_order_relaxed);
  }

  // ---- probe and replay ------------------------------------------------------

  bool probe_primary(std::string& why) {
    try {
      if (!primary->ping()) {
        why = "PING failed";
        return false;
      }
    } catch (const BackendError& e) {
      why = e.what();
      return false;
    }
    detail::RoundTrip round_trip = detail::test_key_round_trip(*primary);
    why = std::move(round_trip.reason);
    return round_trip.ok;
  }

  // Replays the journal until it is empty, then closes. False (and reopened)
  // when the primary failed on the way.
  //
  // Writers keep journaling while a round replays, so under steady write
  // traffic the journal might never be empty at the end of a round. The first
  // round (the bulk of the outage) always runs without the journal lock; later
  // rounds run WITH it once the journal is small (or after a few rounds):
  // writers then wait for that last batch — at most kDrainMax keys, or one
  // socket timeout if the primary fails meanwhile — and the breaker closes in
  // the same critical section, so recovery always converges.
  bool replay_and_close() {
    for (int round = 0;; ++round) {
      bool do_clear = false;
      std::vector<Step> steps;
      std::unique_lock<std::mutex> lock(journal_mu);
      if (journal.empty() && !clear_pending) {
        close_locked();
        return true;
      }
      const bool drain = round >= 1 && (journal.size() <= kDrainMax || round >= kMaxOpenRounds);
      do_clear = clear_pending;
      clear_pending = false;
      steps.reserve(journal.size());
      for (auto& [key, e] : journal) {
        Step st{key, e.kind, e.delta, std::nullopt, Ttl{}, e.seq};
        if (e.kind == Entry::Kind::write) {
          st.value = secondary->get(key);
          auto t = secondary->ttl(key);
          if (st.value && t) {
            st.ttl = *t;
          } else {
            st.value.reset();  // evicted or expired in the secondary: delete it upstream
          }
        }
        steps.push_back(std::move(st));
      }
      journal.clear();
      journal_size.store(0, std::memory_order_relaxed);
      if (!drain) lock.unlock();
      std::sort(steps.begin(), steps.end(), [](const Step& x, const Step& y) { return x.seq < y.seq; });

      std::size_t done = 0;
      bool cleared = !do_clear;
      try {
        if (do_clear) {
          if (!primary->clear()) throw BackendError(ErrorKind::reply, "clear of the primary refused");
          cleared = true;
        }
        for (; done < steps.size(); ++done) {
          replay_step(steps[done]);
          self.count(Counter::replays);
        }
      } catch (const BackendError& e) {
        // Put back what was not replayed, below anything journaled since.
        if (!lock.owns_lock()) lock.lock();
        if (!cleared) clear_pending = true;
        for (std::size_t i = done; i < steps.size(); ++i) {
          const Step& st = steps[i];
          auto it = journal.find(st.key);
          if (it == journal.end()) {
            journal.emplace(st.key, Entry{st.kind, st.delta, st.seq});
          } else if (it->second.kind == Entry::Kind::delta && st.kind == Entry::Kind::delta) {
            it->second.delta += st.delta;
          } else if (it->second.kind == Entry::Kind::delta) {
            it->second.kind = Entry::Kind::write;  // the secondary holds the combined value
          }
        }
        journal_size.store(journal.size(), std::memory_order_relaxed);
        lock.unlock();
        detail::log_limited(failure_log, spdlog::level::warn,
                            std::string("cachet: replay to the primary failed: ") + e.what());
        reopen();
        return false;
      }
      if (drain) {
        // Writers were held back: nothing new was journaled. Close now.
        if (journal.empty() && !clear_pending) {
          close_locked();
          return true;
        }
      }
    }
  }

  void replay_step(const Step& st) {
    switch (st.kind) {
      case Entry::Kind::write:
        if (st.value) {
          primary->set(st.key, *st.value, st.ttl);
        } else {
          primary->remove(st.key);
        }
        break;
      case Entry::Kind::remove:
        primary->remove(st.key);
        break;
      case Entry::Kind::delta:
        try {
          primary->increment(st.key, st.delta);
        } catch (const BackendError& e) {
          if (is_outage(e)) throw;  // a non-integer upstream: nothing to add to
        }
        break;
    }
  }

  // Closes the breaker (journal_mu held, journal empty) and drops the
  // secondary's entries: other instances may have written newer values to the
  // primary during the outage.
  void close_locked() {
    BreakerState from;
    {
      std::lock_guard<std::mutex> slock(state_mu);
      from = state.exchange(BreakerState::closed, std::memory_order_acq_rel);
      total_open += std::chrono::duration_cast<milliseconds>(Clock::now() - opened_at);
      current_cooldown = opt.cooldown;
    }
    consecutive_failures.store(0);
    secondary->clear();
    notify_state(from, BreakerState::closed, "recovered");
  }

  bool probe_and_recover() {
    std::lock_guard<std::mutex> probe_lock(probe_mu);
    if (closed()) return true;
    std::string why;
    if (!probe_primary(why)) {
      detail::log_limited(failure_log, spdlog::level::warn, "cachet: primary still unavailable: " + why);
      reopen();
      return false;
    }
    BreakerState from;
    {
      std::lock_guard<std::mutex> lock(state_mu);
      from = state.exchange(BreakerState::half_open);
    }
    if (from != BreakerState::half_open) notify_state(from, BreakerState::half_open, "probe succeeded");
    return replay_and_close();
  }

  void prober_loop() {
    std::unique_lock<std::mutex> lock(prober_mu);
    while (!stopping) {
      if (closed()) {
        prober_cv.wait_for(lock, std::chrono::seconds(1));
        continue;
      }
      Clock::time_point due;
      {
        std::lock_guard<std::mutex> slock(state_mu);
        due = next_probe;
      }
      if (Clock::now() < due) {
        prober_cv.wait_until(lock, due);
        continue;
      }
      lock.unlock();
      probe_and_recover();
      lock.lock();
    }
  }
};

namespace {

std::unique_ptr<Cache> make_primary(RedisOptions o) {
  if (o.key_prefix.empty() && !o.allow_flushdb) {
    throw ConfigError(
        "FallbackCache: key_prefix is empty and allow_flushdb is false, so an overflowed journal could not be "
        "recovered; accepted: a non-empty key_prefix, or allow_flushdb=true");
  }
  o.on_error = ErrorPolicy::Throw;  // the breaker must see failures
  return std::make_unique<RedisCache>(std::move(o));
}

}  // namespace

FallbackCache::FallbackCache(RedisOptions primary, SimpleCacheOptions secondary, FallbackOptions options)
    : FallbackCache(make_primary(std::move(primary)), std::make_unique<SimpleCache>(std::move(secondary)), std::move(options)) {}

FallbackCache::FallbackCache(std::unique_ptr<Cache> primary, std::unique_ptr<Cache> secondary, FallbackOptions options)
    : impl_(std::make_unique<Impl>(*this, std::move(primary), std::move(secondary), std::move(options))) {
  impl_->start();
}

FallbackCache::~FallbackCache() = default;

BreakerState FallbackCache::state() const noexcept { return impl_->state.load(); }
std::string_view FallbackCache::primary_backend() const noexcept { return impl_->primary->backend(); }
std::string_view FallbackCache::secondary_backend() const noexcept { return impl_->secondary->backend(); }
bool FallbackCache::probe_now() { return impl_->probe_and_recover(); }

void FallbackCache::fill_stats(CacheStats& s) const {
  const auto sec = impl_->secondary->stats();
  s.items = sec.items;
  s.bytes = sec.bytes;
  s.breaker_state = impl_->state.load();
  s.breaker_trips = impl_->trips.load();
  {
    std::lock_guard<std::mutex> lock(impl_->state_mu);
    s.time_open = impl_->total_open;
    if (s.breaker_state != BreakerState::closed) {
      s.time_open += std::chrono::duration_cast<milliseconds>(Clock::now() - impl_->opened_at);
    }
  }
  s.journal_size = impl_->journal_size.load();
  s.journal_overflows = impl_->overflows.load();
}

Cache::Value FallbackCache::do_get(std::string_view key) {
  return impl_->read<Value>([&](Cache& c) { return c.get(key); });
}

bool FallbackCache::do_contains(std::string_view key) {
  return impl_->read<bool>([&](Cache& c) { return c.contains(key); });
}

std::vector<Cache::Value> FallbackCache::do_get_many(const KeyList& keys) {
  auto r = impl_->read<std::vector<Value>>([&](Cache& c) { return c.get_many(keys); });
  if (r.size() != keys.size()) r.resize(keys.size());
  return r;
}

std::optional<Ttl> FallbackCache::do_ttl(std::string_view key) {
  return impl_->read<std::optional<Ttl>>([&](Cache& c) { return c.ttl(key); });
}

bool FallbackCache::do_set(std::string_view key, std::string_view value, Ttl ttl) {
  return impl_->write<bool>([&](Cache& p) { return p.set(key, value, ttl); },
                            [&](Cache& s) {
                              impl_->record(key, Impl::Entry::Kind::write);
                              return s.set(key, value, ttl);
                            });
}

bool FallbackCache::do_add(std::string_view key, std::string_view value, Ttl ttl) {
  return impl_->write<bool>([&](Cache& p) { return p.add(key, value, ttl); },
                            [&](Cache& s) {
                              const bool ok = s.add(key, value, ttl);
                              if (ok) impl_->record(key, Impl::Entry::Kind::write);
                              return ok;
                            });
}

bool FallbackCache::do_remove(std::string_view key) {
  return impl_->write<bool>([&](Cache& p) { return p.remove(key); },
                            [&](Cache& s) {
                              impl_->record(key, Impl::Entry::Kind::remove);
                              return s.remove(key);
                            });
}

bool FallbackCache::do_set_many(const ItemList& items, Ttl ttl) {
  return impl_->write<bool>([&](Cache& p) { return p.set_many(items, ttl); },
                            [&](Cache& s) {
                              for (const auto& [k, v] : items) impl_->record(k, Impl::Entry::Kind::write);
                              return s.set_many(items, ttl);
                            });
}

std::size_t FallbackCache::do_remove_many(const KeyList& keys) {
  return impl_->write<std::size_t>([&](Cache& p) { return p.remove_many(keys); },
                                   [&](Cache& s) {
                                     for (auto k : keys) impl_->record(k, Impl::Entry::Kind::remove);
                                     return s.remove_many(keys);
                                   });
}

std::optional<std::int64_t> FallbackCache::do_increment(std::string_view key, std::int64_t delta) {
  return impl_->write<std::optional<std::int64_t>>([&](Cache& p) { return p.increment(key, delta); },
                                                   [&](Cache& s) {
                                                     auto r = s.increment(key, delta);
                                                     if (r) impl_->record(key, Impl::Entry::Kind::delta, delta);
                                                     return r;
                                                   });
}

bool FallbackCache::do_touch(std::string_view key, Ttl ttl) {
  return impl_->write<bool>([&](Cache& p) { return p.touch(key, ttl); },
                            [&](Cache& s) {
                              const bool ok = s.touch(key, ttl);
                              if (ok) impl_->record(key, Impl::Entry::Kind::write);
                              return ok;
                            });
}

bool FallbackCache::do_clear() {
  return impl_->write<bool>([&](Cache& p) { return p.clear(); },
                            [&](Cache& s) {
                              impl_->record_clear();
                              return s.clear();
                            });
}

bool FallbackCache::do_ping() {
  if (!impl_->closed()) return false;
  try {
    return impl_->primary->ping();
  } catch (const BackendError&) {
    return false;
  }
}

}  // namespace cachet
