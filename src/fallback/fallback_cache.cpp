// FallbackCache: routes each operation to the primary or the secondary by the
// breaker's state, records what the secondary served in the journal, and
// recovers (probe, replay, close). The breaker (src/fallback/breaker) and the
// journal (src/fallback/journal) are separate; the contract is in
// include/cachet/fallback_cache.hpp, the scenarios in docs/failure-modes.md.
#include "cachet/fallback_cache.hpp"

#include <atomic>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "cachet/errors.hpp"
#include "core/fields.hpp"
#include "core/log.hpp"
#include "core/probe.hpp"
#include "fallback/breaker.hpp"
#include "fallback/journal.hpp"

namespace cachet {

using std::chrono::milliseconds;
using detail::Journal;

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

std::unique_ptr<Cache> required(std::unique_ptr<Cache> cache) {
  if (!cache) throw std::invalid_argument("FallbackCache: primary and secondary must not be null");
  return cache;
}

}  // namespace

struct FallbackCache::Impl {
  FallbackCache& self;
  const std::unique_ptr<Cache> primary;
  const std::unique_ptr<Cache> secondary;
  const FallbackOptions opt;
  detail::Breaker breaker;

  std::mutex journal_mu;  // guards journal (size() excepted); held across "secondary write + record"
  bool closing = false;   // guarded by journal_mu: close_locked() is running
  std::optional<std::pair<BreakerState, BreakerState>> deferred_change;  // guarded by journal_mu
  Journal journal;

  std::mutex probe_mu;  // one probe-and-recover at a time
  std::atomic<std::uint64_t> replays{0};
  std::atomic<std::uint64_t> secondary_ops{0};
  detail::RateLimiter failure_log{5, std::chrono::seconds(10)};

  Impl(FallbackCache& s, std::unique_ptr<Cache> p, std::unique_ptr<Cache> sec, FallbackOptions o)
      : self(s),
        primary(required(std::move(p))),
        secondary(required(std::move(sec))),
        opt(validated(std::move(o))),
        breaker({opt.failure_threshold, opt.cooldown, opt.max_cooldown},
                [this](BreakerState from, BreakerState to, const std::string& why) { on_state(from, to, why); }),
        journal(opt.journal_max) {}

  static FallbackOptions validated(FallbackOptions o) {
    o.validate();
    return o;
  }

  void start() {
    breaker.start([this] { probe_and_recover(); }, opt.start_open, opt.probe_immediately_when_started_open);
    if (opt.start_open) {
      // The owner chose to start open (the factory does after a failed probe
      // and logs the warning with the reason itself): info, not a warning.
      detail::log()->info("cachet: started with the breaker open; serving from {} until {} answers a probe",
                          secondary->backend(), primary->backend());
      fire_callback(BreakerState::closed, BreakerState::open);
    }
  }

  ~Impl() { breaker.stop(); }  // before anything the probe uses goes away

  void on_state(BreakerState from, BreakerState to, const std::string& why) {
    auto lg = detail::log();
    if (to == BreakerState::open && from == BreakerState::closed) {
      lg->warn("cachet: {} unavailable ({}); serving from {} until it recovers", primary->backend(), why,
               secondary->backend());
    } else if (to == BreakerState::closed) {
      lg->info("cachet: {} recovered; breaker closed", primary->backend());
    }
    if (closing) {  // journal_mu is held: reported by close_and_report() once it is released
      deferred_change.emplace(from, to);
      return;
    }
    fire_callback(from, to);
    self.notify_breaker_state(from, to);
  }

  void fire_callback(BreakerState from, BreakerState to) {
    if (!opt.on_state_change) return;
    try {
      opt.on_state_change(from, to);
    } catch (...) {
      // A throwing callback must not break the cache.
    }
  }

  // ---- routing ------------------------------------------------------------

  // A failure of the primary: counted, logged (rate-limited), and reported to
  // the breaker. A write or invalidation that did not reach the primary must be
  // replayed before anything is read from the primary again, so it opens the
  // breaker at once; read failures open it after failure_threshold in a row.
  void on_failure(const BackendError& e, bool is_write) {
    self.count_failure(e.kind());
    detail::log_limited(failure_log, spdlog::level::warn, std::string("cachet: primary failed: ") + e.what());
    breaker.record_failure(is_write, e.what());
  }

  // A read: primary while closed (falling back on an outage), else the secondary.
  template <class R, class F>
  R read(F&& f) {
    if (breaker.closed()) {
      try {
        R r = f(*primary);
        breaker.record_success();
        return r;
      } catch (const BackendError& e) {
        if (!e.is_outage()) return R{};
        on_failure(e, false);
      }
    }
    secondary_ops.fetch_add(1, std::memory_order_relaxed);
    return f(*secondary);
  }

  // A write: primary while closed; otherwise (or when the primary fails) the
  // secondary, with the journal updated under the same lock so that the
  // recovery cannot close the breaker between the two.
  template <class R, class P, class S>
  R write(P&& on_primary, S&& on_secondary) {
    for (;;) {
      if (breaker.closed()) {
        try {
          R r = on_primary(*primary);
          breaker.record_success();
          return r;
        } catch (const BackendError& e) {
          if (!e.is_outage()) return R{};
          on_failure(e, true);
        }
      }
      std::lock_guard<std::mutex> lock(journal_mu);
      if (breaker.closed()) continue;  // recovered meanwhile: go to the primary
      secondary_ops.fetch_add(1, std::memory_order_relaxed);
      return on_secondary(*secondary);
    }
  }

  // ---- probe and recovery ----------------------------------------------------

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
      std::unique_lock<std::mutex> lock(journal_mu);
      if (journal.empty()) {
        close_and_report(lock);
        return true;
      }
      const bool drain = round >= 1 && (journal.size() <= kDrainMax || round >= kMaxOpenRounds);
      const Journal::Batch batch = journal.take(*secondary);
      if (!drain) lock.unlock();

      std::size_t done = 0;
      bool cleared = !batch.clear_first;
      try {
        if (batch.clear_first) {
          if (!primary->clear()) throw BackendError(ErrorKind::reply, "clear of the primary refused");
          cleared = true;
        }
        for (; done < batch.steps.size(); ++done) {
          Journal::apply(batch.steps[done], *primary);
          replays.fetch_add(1, std::memory_order_relaxed);
        }
      } catch (const BackendError& e) {
        if (!lock.owns_lock()) lock.lock();
        journal.put_back(batch, done, cleared);
        lock.unlock();
        detail::log_limited(failure_log, spdlog::level::warn,
                            std::string("cachet: replay to the primary failed: ") + e.what());
        breaker.reopen("replay failed");
        return false;
      }
      if (drain && journal.empty()) {  // writers were held back: nothing new was journaled
        close_and_report(lock);
        return true;
      }
    }
  }

  // Closes the breaker (journal_mu held, journal empty) and drops the
  // secondary's entries: other instances may have written newer values to the
  // primary during the outage.
  void close_locked() {
    closing = true;
    breaker.close();
    closing = false;
    secondary->clear();
  }

  // close_locked(), then the state change reaches the callback and the
  // observer after journal_mu is released (they may call back into the cache).
  void close_and_report(std::unique_lock<std::mutex>& lock) {
    close_locked();
    const auto change = std::exchange(deferred_change, std::nullopt);
    lock.unlock();
    if (!change) return;
    fire_callback(change->first, change->second);
    self.notify_breaker_state(change->first, change->second);
  }

  bool probe_and_recover() {
    std::lock_guard<std::mutex> probe_lock(probe_mu);
    if (breaker.closed()) return true;
    std::string why;
    if (!probe_primary(why)) {
      detail::log_limited(failure_log, spdlog::level::warn, "cachet: primary still unavailable: " + why);
      breaker.reopen("probe failed");
      return false;
    }
    breaker.half_open();
    return replay_and_close();
  }
};

const char* to_string(BreakerState state) noexcept {
  switch (state) {
    case BreakerState::closed: return "closed";
    case BreakerState::open: return "open";
    case BreakerState::half_open: return "half_open";
  }
  return "unknown";
}

std::string BreakerStats::to_string() const {
  std::string s = "breaker=";
  s += cachet::to_string(state);
  auto field = [&s](const char* name, std::uint64_t v) { detail::append_field(s, name, v); };
  field("trips", trips);
  field("time_open_ms", static_cast<std::uint64_t>(time_open.count()));
  field("journal_size", journal_size);
  field("journal_overflows", journal_overflows);
  field("replays", replays);
  field("secondary_ops", secondary_ops);
  return s;
}

FallbackCache::FallbackCache(std::unique_ptr<Cache> primary, std::unique_ptr<Cache> secondary, FallbackOptions options)
    : impl_(std::make_unique<Impl>(*this, std::move(primary), std::move(secondary), std::move(options))) {
  impl_->start();
}

FallbackCache::~FallbackCache() { stop_background_loads(); }

BreakerState FallbackCache::state() const noexcept { return impl_->breaker.state(); }
std::string_view FallbackCache::primary_backend() const noexcept { return impl_->primary->backend(); }
std::string_view FallbackCache::secondary_backend() const noexcept { return impl_->secondary->backend(); }
bool FallbackCache::probe_now() { return impl_->probe_and_recover(); }

BreakerStats FallbackCache::breaker() const {
  BreakerStats b;
  b.state = impl_->breaker.state();
  b.trips = impl_->breaker.trips();
  b.time_open = impl_->breaker.time_open();
  b.journal_size = impl_->journal.size();
  b.journal_overflows = impl_->journal.overflows();
  b.replays = impl_->replays.load(std::memory_order_relaxed);
  b.secondary_ops = impl_->secondary_ops.load(std::memory_order_relaxed);
  return b;
}

void FallbackCache::fill_stats(CacheStats& s) const {
  const auto sec = impl_->secondary->stats();
  s.items = sec.items;
  s.bytes = sec.bytes;
}

void FallbackCache::collect_metrics(MetricsWriter& out) const {
  const BreakerStats b = breaker();
  out.gauge("cachet_breaker_state", "Circuit breaker state: 0 closed, 1 open, 2 half-open.",
            b.state == BreakerState::closed ? 0 : b.state == BreakerState::open ? 1 : 2);
  out.counter("cachet_breaker_trips_total", "Times the breaker opened.", b.trips);
  out.gauge("cachet_journal_keys", "Keys waiting to be replayed to the primary.", static_cast<double>(b.journal_size));
  out.counter("cachet_journal_overflows_total", "Outages whose journal overflowed (the primary's prefix was cleared).",
              b.journal_overflows);
  out.counter("cachet_journal_replays_total", "Journal entries replayed to the primary.", b.replays);
  out.counter("cachet_secondary_operations_total", "Operations served by the secondary cache.", b.secondary_ops);
}

// Reads use get_stored(): an entry's get_or_set header (fail-safe, eager
// refresh) must reach this cache's own get() / get_or_set untouched.
Cache::Value FallbackCache::do_get(std::string_view key) {
  return impl_->read<Value>([&](Cache& c) { return c.get_stored(key); });
}

bool FallbackCache::do_contains(std::string_view key) {
  return impl_->read<bool>([&](Cache& c) { return c.contains(key); });
}

std::vector<Cache::Value> FallbackCache::do_get_many(const KeyList& keys) {
  auto r = impl_->read<std::vector<Value>>([&](Cache& c) { return c.get_many_stored(keys); });
  if (r.size() != keys.size()) r.resize(keys.size());
  return r;
}

std::optional<Ttl> FallbackCache::do_ttl(std::string_view key) {
  return impl_->read<std::optional<Ttl>>([&](Cache& c) { return c.ttl(key); });
}

bool FallbackCache::do_set(std::string_view key, std::string_view value, Ttl ttl) {
  return impl_->write<bool>([&](Cache& p) { return p.set(key, value, ttl); },
                            [&](Cache& s) {
                              impl_->journal.record(key, Journal::Op::write);
                              return s.set(key, value, ttl);
                            });
}

bool FallbackCache::do_add(std::string_view key, std::string_view value, Ttl ttl) {
  return impl_->write<bool>([&](Cache& p) { return p.add(key, value, ttl); },
                            [&](Cache& s) {
                              const bool ok = s.add(key, value, ttl);
                              if (ok) impl_->journal.record(key, Journal::Op::write);
                              return ok;
                            });
}

bool FallbackCache::do_remove(std::string_view key) {
  return impl_->write<bool>([&](Cache& p) { return p.remove(key); },
                            [&](Cache& s) {
                              impl_->journal.record(key, Journal::Op::remove);
                              return s.remove(key);
                            });
}

bool FallbackCache::do_set_many(const ItemList& items, Ttl ttl) {
  return impl_->write<bool>([&](Cache& p) { return p.set_many(items, ttl); },
                            [&](Cache& s) {
                              for (const auto& [k, v] : items) impl_->journal.record(k, Journal::Op::write);
                              return s.set_many(items, ttl);
                            });
}

std::size_t FallbackCache::do_remove_many(const KeyList& keys) {
  return impl_->write<std::size_t>([&](Cache& p) { return p.remove_many(keys); },
                                   [&](Cache& s) {
                                     for (auto k : keys) impl_->journal.record(k, Journal::Op::remove);
                                     return s.remove_many(keys);
                                   });
}

std::optional<std::int64_t> FallbackCache::do_increment(std::string_view key, std::int64_t delta) {
  return impl_->write<std::optional<std::int64_t>>([&](Cache& p) { return p.increment(key, delta); },
                                                   [&](Cache& s) {
                                                     auto r = s.increment(key, delta);
                                                     if (r) impl_->journal.record(key, Journal::Op::delta, delta);
                                                     return r;
                                                   });
}

bool FallbackCache::do_touch(std::string_view key, Ttl ttl) {
  return impl_->write<bool>([&](Cache& p) { return p.touch(key, ttl); },
                            [&](Cache& s) {
                              const bool ok = s.touch(key, ttl);
                              if (ok) impl_->journal.record(key, Journal::Op::write);
                              return ok;
                            });
}

bool FallbackCache::do_clear() {
  return impl_->write<bool>([&](Cache& p) { return p.clear(); },
                            [&](Cache& s) {
                              impl_->journal.record_clear();
                              return s.clear();
                            });
}

bool FallbackCache::do_ping() {
  if (!impl_->breaker.closed()) return false;
  try {
    return impl_->primary->ping();
  } catch (const BackendError&) {
    return false;
  }
}

Ttl FallbackCache::do_default_timeout() const noexcept { return impl_->primary->default_timeout(); }

// The lock lives in the primary (shared by every process); while the breaker
// is not closed no other process can be coordinated with: load without it.
LockResult FallbackCache::do_try_lock(std::string_view lock_key, std::string_view token, Ttl ttl) {
  if (!impl_->breaker.closed()) return LockResult::unavailable;
  return impl_->primary->try_lock(lock_key, token, ttl);
}

void FallbackCache::do_unlock(std::string_view lock_key, std::string_view token) {
  if (impl_->breaker.closed()) impl_->primary->unlock(lock_key, token);
}

}  // namespace cachet
