// HybridCache: L1 in front of L2, the L1 kept coherent by an
// InvalidationChannel. The contract is in include/cachet/hybrid_cache.hpp;
// the race between a fill and an invalidation is closed by detail::Coherence
// (coherence.hpp); how the modes work and their windows: docs/hybrid.md.
#include "cachet/hybrid_cache.hpp"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <mutex>
#include <random>
#include <stdexcept>
#include <thread>
#include <utility>

#include "cachet/errors.hpp"
#include "cachet/metrics.hpp"
#include "core/log.hpp"
#include "hybrid/coherence.hpp"

namespace cachet {

using std::chrono::milliseconds;

namespace {

std::atomic<void (*)(std::string_view)> g_fill_hook{nullptr};

template <class T>
T required(T p, const char* what) {
  if (!p) throw std::invalid_argument(std::string("HybridCache: ") + what + " must not be null");
  return p;
}

}  // namespace

void detail::set_hybrid_fill_hook(void (*hook)(std::string_view key)) { g_fill_hook.store(hook); }

struct HybridCache::Impl final : InvalidationListener {
  using Ticket = detail::Coherence::Ticket;

  const std::shared_ptr<Cache> l1;
  const std::unique_ptr<Cache> l2;
  const std::unique_ptr<InvalidationChannel> channel;
  const HybridOptions opt;
  detail::Coherence coherence;

  // Set once by detail::attach_outage_store (runtime composition), possibly
  // while the channel's thread runs: the flag is published through an atomic
  // pointer; `outage_owner` only keeps it alive.
  std::shared_ptr<const std::atomic<bool>> outage_owner;
  std::atomic<const std::atomic<bool>*> outage_flag{nullptr};

  // L1 is read and filled only while this is true: the channel is registered
  // (or there is none) and L1 was cleared after the last loss.
  std::atomic<bool> l1_on{false};
  std::atomic<bool> lost_since_ready{false};  // a loss happened: the next resume clears L1
  std::atomic<bool> outage_seen{false};       // L2 was unhealthy while L1 was off
  std::mutex resume_mu;                       // one resume at a time (channel thread, probe)

  std::atomic<std::uint64_t> l2_hits{0}, invalidations{0}, flushes{0}, clears_flush{0}, clears_loss{0},
      clears_recovery{0}, losses{0}, prevented{0};
  detail::RateLimiter limiter{5, std::chrono::seconds(10)};

  Impl(std::shared_ptr<Cache> one, std::unique_ptr<Cache> two, std::unique_ptr<InvalidationChannel> ch,
       HybridOptions o)
      : l1(required(std::move(one), "l1")),
        l2(required(std::move(two), "l2")),
        channel(std::move(ch)),
        opt(validated(std::move(o), channel != nullptr)) {}

  static HybridOptions validated(HybridOptions o, bool has_channel) {
    o.validate();
    if (!has_channel && !o.without_invalidation) {
      throw std::invalid_argument(
          "HybridCache: channel must not be null (set HybridOptions::without_invalidation to run without "
          "invalidation, mode none)");
    }
    return o;
  }

  void start() {
    if (!channel) {
      l1_on.store(true);
      return;
    }
    channel->start(*this);
  }

  // True while L1 holds an outage's journaled writes: then nothing is taken
  // out of it or overwritten there (it is the L2's store until recovery,
  // which clears it).
  bool outage() const {
    const std::atomic<bool>* flag = outage_flag.load(std::memory_order_acquire);
    return flag != nullptr && flag->load();
  }
  void drop(std::string_view key) {
    if (!outage()) l1->remove(key);
  }

  // ---- the listener (the channel's thread) -------------------------------

  void invalidate(std::string_view key) override {
    invalidations.fetch_add(1, std::memory_order_relaxed);
    coherence.bump(key);
    // While L1 is off it is not read, and it is cleared before it is read
    // again; under a FallbackCache it is the store of an outage: leave it.
    if (l1_on.load()) drop(key);
  }

  void invalidate_all() override {
    flushes.fetch_add(1, std::memory_order_relaxed);
    coherence.bump_all();
    if (l1_on.load() && !outage()) {
      l1->clear();
      clears_flush.fetch_add(1, std::memory_order_relaxed);
    }
  }

  void channel_lost(std::string_view why) override {
    l1_on.store(false);
    lost_since_ready.store(true);
    losses.fetch_add(1, std::memory_order_relaxed);
    detail::log_limited(limiter, spdlog::level::warn,
                        "cachet hybrid: invalidation channel lost (" + std::string(why) +
                            "); L1 bypassed until it is registered again");
  }

  void channel_ready() override { try_resume(); }

  void tick() override {
    if (!l1_on.load()) try_resume();
  }

  bool l2_healthy() {
    try {
      return l2->ping();
    } catch (const BackendError&) {
      return false;
    }
  }

  // L1 back in use: only with the channel registered and L2 serving from its
  // own backend (a FallbackCache's ping is false while its breaker is not
  // closed: L1 is then its secondary, holding the outage's journaled writes).
  void try_resume() {
    std::lock_guard<std::mutex> lock(resume_mu);
    if (l1_on.load() || !channel->ready()) return;
    if (!l2_healthy()) {
      outage_seen.store(true);
      return;
    }
    coherence.bump_all();
    if (lost_since_ready.exchange(false)) {
      l1->clear();
      (outage_seen.exchange(false) ? clears_recovery : clears_loss).fetch_add(1, std::memory_order_relaxed);
    }
    l1_on.store(true);
  }

  // ---- L1 maintenance -----------------------------------------------------

  milliseconds l1_ttl(Ttl ttl) const {
    const Ttl t = ttl.resolve(l2->default_timeout());
    if (!t.is_finite()) return opt.l1_max_ttl;
    return std::min(std::chrono::duration_cast<milliseconds>(t.duration()), opt.l1_max_ttl);
  }

  // A value read from L2 under `t`.
  void fill(std::string_view key, std::string_view value, const Ticket& t) {
    if (auto hook = g_fill_hook.load()) hook(key);
    if (!l1_on.load() || outage()) return;
    if (!coherence.valid(t)) {
      prevented.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    l1->set(key, value, opt.l1_max_ttl);
    if (!coherence.valid(t)) {
      drop(key);
      prevented.fetch_add(1, std::memory_order_relaxed);
    }
  }

  // After this process's write of `key` to L2 (`t` taken before it). With
  // `value`, the write stored it for `ttl`: install it unless someone else
  // changed the key meanwhile; otherwise drop the key.
  void after_write(std::string_view key, Ticket t, const std::string_view* value, Ttl ttl) {
    const bool untouched = coherence.own_write(t);
    if (!l1_on.load() || outage()) return;  // bypassed and cleared before reuse; or the L2's outage store
    // tracking mode: the server reports changes only of keys a connection
    // READ, so a written value enters L1 only through a later (tracked) read.
    const bool install = value != nullptr && untouched && !(channel && channel->mode() == InvalidationMode::tracking);
    if (install) {
      l1->set(key, *value, l1_ttl(ttl));
      if (coherence.valid(t)) return;
    }
    drop(key);
  }

  // Only pubsub publishes this process's writes (InvalidationChannel::wrote);
  // the server reports them in the other modes.
  bool publishes() const { return channel && channel->mode() == InvalidationMode::pubsub; }
  void tell_channel(const std::vector<std::string_view>& keys) {
    if (publishes()) channel->wrote(keys);
  }
  void tell_channel(std::string_view key) {
    if (publishes()) channel->wrote({key});
  }
};

HybridCache::HybridCache(std::shared_ptr<Cache> l1, std::unique_ptr<Cache> l2,
                         std::unique_ptr<InvalidationChannel> channel, HybridOptions options)
    : impl_(std::make_unique<Impl>(std::move(l1), std::move(l2), std::move(channel), std::move(options))) {
  impl_->start();
}

HybridCache::~HybridCache() {
  stop_background_loads();
  if (impl_->channel) impl_->channel->stop();
}

std::string_view HybridCache::l1_backend() const noexcept { return impl_->l1->backend(); }
std::string_view HybridCache::l2_backend() const noexcept { return impl_->l2->backend(); }
InvalidationMode HybridCache::mode() const noexcept {
  return impl_->channel ? impl_->channel->mode() : InvalidationMode::none;
}

HybridStats HybridCache::hybrid_stats() const {
  const auto& im = *impl_;
  HybridStats h;
  h.mode = mode();
  h.mode_reason = im.channel ? im.channel->mode_reason() : "none (chosen: no invalidation, L1 entries live at most "
                                                            "l1_max_ttl)";
  h.l1_in_use = im.l1_on.load();
  const CacheStats s = stats();
  h.l2_hits = im.l2_hits.load(std::memory_order_relaxed);
  h.l1_hits = s.hits > h.l2_hits ? s.hits - h.l2_hits : 0;
  h.misses = s.misses;
  h.invalidations = im.invalidations.load(std::memory_order_relaxed);
  h.flushes = im.flushes.load(std::memory_order_relaxed);
  h.l1_clears_flush = im.clears_flush.load(std::memory_order_relaxed);
  h.l1_clears_channel_loss = im.clears_loss.load(std::memory_order_relaxed);
  h.l1_clears_recovery = im.clears_recovery.load(std::memory_order_relaxed);
  h.channel_losses = im.losses.load(std::memory_order_relaxed);
  h.stale_installs_prevented = im.prevented.load(std::memory_order_relaxed);
  return h;
}

// Size and eviction figures are the L1's; failures are the L2's.
void HybridCache::fill_stats(CacheStats& s) const {
  const auto l1 = impl_->l1->stats();
  for (auto field : {&CacheStats::items, &CacheStats::bytes, &CacheStats::evictions, &CacheStats::expirations}) {
    s.*field = l1.*field;
  }
  const auto l2 = impl_->l2->stats();
  for (auto field : {&CacheStats::errors, &CacheStats::errors_connection, &CacheStats::errors_timeout,
                     &CacheStats::errors_protocol, &CacheStats::errors_reply, &CacheStats::errors_pool_exhausted,
                     &CacheStats::errors_tls}) {
    s.*field = l2.*field;
  }
}

void HybridCache::collect_metrics(MetricsWriter& out) const {
  const HybridStats h = hybrid_stats();
  out.gauge("cachet_l1_in_use", "1 while the hybrid's L1 is used, 0 while it is bypassed (channel lost).",
            h.l1_in_use ? 1 : 0, {{"mode", cachet::to_string(h.mode)}});
  out.counter("cachet_l1_hits_total", "Lookups answered by the hybrid's L1.", h.l1_hits);
  out.counter("cachet_l2_hits_total", "Lookups the hybrid answered from its L2.", h.l2_hits);
  out.counter("cachet_invalidations_total", "Keys reported changed by the invalidation channel.", h.invalidations);
  for (const auto& [cause, n] : {std::pair<const char*, std::uint64_t>{"flush", h.l1_clears_flush},
                                 {"channel_loss", h.l1_clears_channel_loss},
                                 {"recovery", h.l1_clears_recovery}}) {
    out.counter("cachet_l1_clears_total", "Times the hybrid's L1 was cleared, by cause.", n, {{"cause", cause}});
  }
  out.counter("cachet_invalidation_channel_losses_total", "Times the invalidation channel was lost.",
              h.channel_losses);
  out.counter("cachet_stale_installs_prevented_total",
              "L1 fills skipped because an invalidation arrived during the fetch.", h.stale_installs_prevented);
}

Cache::Value HybridCache::do_get(std::string_view key) {
  auto& im = *impl_;
  if (im.l1_on.load(std::memory_order_acquire)) {
    if (auto v = get_uncounted(*im.l1, key)) return v;  // counted once, by this cache's get()
  }
  const auto ticket = im.coherence.ticket(key);
  auto v = im.l2->get_stored(key);
  if (v) {
    im.l2_hits.fetch_add(1, std::memory_order_relaxed);
    im.fill(key, *v, ticket);
  }
  return v;
}

std::vector<Cache::Value> HybridCache::do_get_many(const KeyList& keys) {
  auto& im = *impl_;
  std::vector<Value> out(keys.size());
  KeyList missing;
  std::vector<std::size_t> where;
  if (im.l1_on.load(std::memory_order_acquire)) {
    out = im.l1->get_many_stored(keys);
    out.resize(keys.size());
    for (std::size_t i = 0; i < keys.size(); ++i) {
      if (!out[i]) {
        missing.push_back(keys[i]);
        where.push_back(i);
      }
    }
  } else {
    missing = keys;
    for (std::size_t i = 0; i < keys.size(); ++i) where.push_back(i);
  }
  if (missing.empty()) return out;
  std::vector<detail::Coherence::Ticket> tickets;
  tickets.reserve(missing.size());
  for (auto k : missing) tickets.push_back(im.coherence.ticket(k));
  auto fetched = im.l2->get_many_stored(missing);
  fetched.resize(missing.size());
  for (std::size_t j = 0; j < missing.size(); ++j) {
    if (!fetched[j]) continue;
    im.l2_hits.fetch_add(1, std::memory_order_relaxed);
    im.fill(missing[j], *fetched[j], tickets[j]);
    out[where[j]] = std::move(fetched[j]);
  }
  return out;
}

bool HybridCache::do_contains(std::string_view key) {
  auto& im = *impl_;
  if (im.l1_on.load(std::memory_order_acquire) && im.l1->contains(key)) return true;
  return im.l2->contains(key);
}

std::optional<Ttl> HybridCache::do_ttl(std::string_view key) { return impl_->l2->ttl(key); }

bool HybridCache::do_set(std::string_view key, std::string_view value, Ttl ttl) {
  auto& im = *impl_;
  const auto ticket = im.coherence.ticket(key);
  const bool ok = im.l2->set(key, value, ttl);
  im.after_write(key, ticket, ok ? &value : nullptr, ttl);
  if (ok) im.tell_channel(key);
  return ok;
}

bool HybridCache::do_add(std::string_view key, std::string_view value, Ttl ttl) {
  auto& im = *impl_;
  const auto ticket = im.coherence.ticket(key);
  const bool ok = im.l2->add(key, value, ttl);
  // Not added: the key exists in L2 and L1 may hold it; leave L1 alone.
  if (ok) {
    im.after_write(key, ticket, &value, ttl);
    im.tell_channel(key);
  }
  return ok;
}

bool HybridCache::do_remove(std::string_view key) {
  auto& im = *impl_;
  const auto ticket = im.coherence.ticket(key);
  const bool removed = im.l2->remove(key);
  im.after_write(key, ticket, nullptr, {});
  im.tell_channel(key);
  return removed;
}

bool HybridCache::do_set_many(const ItemList& items, Ttl ttl) {
  auto& im = *impl_;
  std::vector<detail::Coherence::Ticket> tickets;
  tickets.reserve(items.size());
  for (const auto& item : items) tickets.push_back(im.coherence.ticket(item.first));
  const bool ok = im.l2->set_many(items, ttl);
  // A key given twice: the last value wins in L2; install only the last one.
  for (std::size_t i = 0; i < items.size(); ++i) {
    bool later = false;
    for (std::size_t j = i + 1; j < items.size() && !later; ++j) later = items[j].first == items[i].first;
    if (later) continue;
    im.after_write(items[i].first, tickets[i], ok ? &items[i].second : nullptr, ttl);
  }
  if (ok && im.publishes()) {
    std::vector<std::string_view> keys;
    keys.reserve(items.size());
    for (const auto& item : items) keys.push_back(item.first);
    im.tell_channel(keys);
  }
  return ok;
}

std::size_t HybridCache::do_remove_many(const KeyList& keys) {
  auto& im = *impl_;
  std::vector<detail::Coherence::Ticket> tickets;
  tickets.reserve(keys.size());
  for (auto k : keys) tickets.push_back(im.coherence.ticket(k));
  const std::size_t n = im.l2->remove_many(keys);
  for (std::size_t i = 0; i < keys.size(); ++i) im.after_write(keys[i], tickets[i], nullptr, {});
  im.tell_channel(keys);
  return n;
}

std::optional<std::int64_t> HybridCache::do_increment(std::string_view key, std::int64_t delta) {
  auto& im = *impl_;
  const auto ticket = im.coherence.ticket(key);
  auto r = im.l2->increment(key, delta);
  im.after_write(key, ticket, nullptr, {});  // the expiry in L2 is unknown here: drop
  if (r) im.tell_channel(key);
  return r;
}

bool HybridCache::do_touch(std::string_view key, Ttl ttl) {
  auto& im = *impl_;
  const auto ticket = im.coherence.ticket(key);
  const bool ok = im.l2->touch(key, ttl);
  im.after_write(key, ticket, nullptr, {});
  if (ok) im.tell_channel(key);
  return ok;
}

bool HybridCache::do_clear() {
  auto& im = *impl_;
  const bool ok = im.l2->clear();
  im.coherence.bump_all();
  if (im.l1_on.load() && !im.outage()) im.l1->clear();  // an outage store: l2->clear() cleared and journaled it
  if (im.channel) im.channel->cleared();
  return ok;
}

bool HybridCache::do_ping() { return impl_->l2->ping(); }

Ttl HybridCache::do_default_timeout() const noexcept { return impl_->l2->default_timeout(); }

LockResult HybridCache::do_try_lock(std::string_view lock_key, std::string_view token, Ttl ttl) {
  return impl_->l2->try_lock(lock_key, token, ttl);
}

void HybridCache::do_unlock(std::string_view lock_key, std::string_view token) { impl_->l2->unlock(lock_key, token); }

CoherenceCheck HybridCache::check_coherence(milliseconds timeout) {
  auto& im = *impl_;
  CoherenceCheck c;
  c.mode = mode();
  if (!im.channel) {
    c.detail = "mode none: no invalidation channel; L1 entries live at most l1_max_ttl";
    return c;
  }
  using Clock = std::chrono::steady_clock;
  const auto deadline = Clock::now() + timeout;
  while (!im.l1_on.load() && Clock::now() < deadline) std::this_thread::sleep_for(milliseconds(5));
  if (!im.l1_on.load()) {
    c.detail = "the invalidation channel is not registered (" + im.channel->mode_reason() + ")";
    return c;
  }
  std::random_device rd;
  const std::string key = "cachet-coherence:" + std::to_string(::getpid()) + ":" + std::to_string(rd());
  try {
    // Written from outside (so no echo of this process's own write is in
    // flight), then read into L1 until it stays there: the invalidation of
    // that first write has passed by then.
    std::string error;
    if (!im.channel->write_from_outside(key, "before", error)) {
      c.detail = "writing the test key from a second connection failed: " + error;
      return c;
    }
    bool held = false;
    while (!held && Clock::now() < deadline) {
      (void)get_stored(key);  // an L2 read (tracked in tracking mode), then into L1
      std::this_thread::sleep_for(milliseconds(20));
      held = im.l1->contains(key);
    }
    if (!held) {
      c.detail = "the test key did not stay in L1 (invalidations or channel losses kept arriving)";
      remove(key);
      return c;
    }
    const auto start = Clock::now();
    if (!im.channel->write_from_outside(key, "after", error)) {
      c.detail = "writing the test key from a second connection failed: " + error;
      remove(key);
      return c;
    }
    while (im.l1->contains(key) && Clock::now() < deadline) std::this_thread::yield();
    c.latency = std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - start);
    c.ok = !im.l1->contains(key);
    c.detail = c.ok ? "the invalidation of a write from a second connection arrived"
                    : "no invalidation arrived within " + std::to_string(timeout.count()) + " ms";
    remove(key);
  } catch (const BackendError& e) {
    c.detail = std::string("L2 failed: ") + e.what();
  }
  return c;
}

void detail::attach_outage_store(HybridCache& cache, std::shared_ptr<const std::atomic<bool>> in_use) {
  cache.impl_->outage_owner = std::move(in_use);
  cache.impl_->outage_flag.store(cache.impl_->outage_owner.get(), std::memory_order_release);
}

}  // namespace cachet
