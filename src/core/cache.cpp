// The non-virtual half of cachet::Cache: statistics, batch overloads and the
// single-flight get_or_set shared by every backend.
#include "cachet/cache.hpp"

#include <limits>

#include "core/cache_core.hpp"
#include "core/entry_header.hpp"

namespace cachet {

namespace detail {

namespace {

// Stripe i < kStripes - 1 is owned by at most one thread at a time. The
// release on exit / acquire on claim hands the stripe's values to the next
// owner, which continues from them.
std::array<std::atomic<bool>, StripedCounters::kStripes - 1> g_stripe_taken{};

struct StripeClaim {
  std::size_t index = StripedCounters::kStripes - 1;  // the shared stripe
  bool exclusive = false;
  StripeClaim() noexcept {
    for (std::size_t i = 0; i < g_stripe_taken.size(); ++i) {
      if (!g_stripe_taken[i].load(std::memory_order_relaxed) &&
          !g_stripe_taken[i].exchange(true, std::memory_order_acquire)) {
        index = i;
        exclusive = true;
        return;
      }
    }
  }
  ~StripeClaim() {
    if (exclusive) g_stripe_taken[index].store(false, std::memory_order_release);
  }
  StripeClaim(const StripeClaim&) = delete;
  StripeClaim& operator=(const StripeClaim&) = delete;
};

}  // namespace

StripedCounters::Slot StripedCounters::thread_slot() noexcept {
  thread_local const StripeClaim claim;
  return {claim.index, claim.exclusive};
}

std::pair<std::shared_ptr<SingleFlight::Flight>, bool> SingleFlight::join(const std::string& key) {
  std::lock_guard<std::mutex> lock(mu_);
  auto [it, inserted] = flights_.try_emplace(key);
  if (inserted) it->second = std::make_shared<Flight>();
  return {it->second, inserted};
}

void SingleFlight::finish(const std::string& key, const std::shared_ptr<Flight>& flight) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    flights_.erase(key);
  }
  {
    std::lock_guard<std::mutex> lock(flight->mu);
    flight->done = true;
  }
  flight->cv.notify_all();
}

}  // namespace detail

namespace {

std::uint64_t hits_in(const std::vector<Cache::Value>& values) {
  std::uint64_t hits = 0;
  for (const auto& v : values) hits += v.has_value() ? 1 : 0;
  return hits;
}

Cache::KeyList to_key_list(const std::vector<std::string>& keys) {
  Cache::KeyList out;
  out.reserve(keys.size());
  for (const auto& k : keys) out.emplace_back(k);
  return out;
}

}  // namespace

Cache::Cache() : core_(std::make_unique<detail::CacheCore>()) {}
Cache::~Cache() { stop_background_loads(); }

void Cache::count(Counter c, std::uint64_t n) const noexcept { core_->counters.add(c, n); }

void Cache::count_failure(ErrorKind kind) const noexcept {
  Counter by_kind = Counter::errors_connection;
  switch (kind) {
    case ErrorKind::connection: by_kind = Counter::errors_connection; break;
    case ErrorKind::timeout: by_kind = Counter::errors_timeout; break;
    case ErrorKind::protocol: by_kind = Counter::errors_protocol; break;
    case ErrorKind::reply: by_kind = Counter::errors_reply; break;
    case ErrorKind::pool_exhausted: by_kind = Counter::errors_pool_exhausted; break;
    case ErrorKind::tls: by_kind = Counter::errors_tls; break;
  }
  count(Counter::errors);
  count(by_kind);
}

Cache::Value Cache::get(std::string_view key) {
  auto v = do_get(key);
  if (v && detail::looks_like_entry(*v)) detail::strip_entry_for_get(v);
  count(v ? Counter::hits : Counter::misses);
  return v;
}

Cache::Value Cache::get_stored(std::string_view key) {
  auto v = do_get(key);
  count(v ? Counter::hits : Counter::misses);
  return v;
}

bool Cache::set(std::string_view key, std::string_view value, Ttl ttl) {
  const bool ok = do_set(key, value, ttl);
  if (ok) count(Counter::sets);
  return ok;
}

bool Cache::add(std::string_view key, std::string_view value, Ttl ttl) {
  const bool ok = do_add(key, value, ttl);
  if (ok) count(Counter::sets);
  return ok;
}

bool Cache::remove(std::string_view key) {
  const bool ok = do_remove(key);
  if (ok) count(Counter::removes);
  return ok;
}

bool Cache::contains(std::string_view key) { return do_contains(key); }

std::vector<Cache::Value> Cache::get_many(std::initializer_list<std::string_view> keys) {
  return get_many(KeyList(keys));
}
std::vector<Cache::Value> Cache::get_many(const std::vector<std::string>& keys) {
  return get_many(to_key_list(keys));
}
std::vector<Cache::Value> Cache::get_many(const KeyList& keys) {
  if (keys.empty()) return {};
  auto values = do_get_many(keys);
  for (auto& v : values) {
    if (v && detail::looks_like_entry(*v)) detail::strip_entry_for_get(v);
  }
  const std::uint64_t hits = hits_in(values);
  if (hits != 0) count(Counter::hits, hits);
  if (values.size() != hits) count(Counter::misses, values.size() - hits);
  return values;
}

std::vector<Cache::Value> Cache::get_many_stored(const KeyList& keys) {
  if (keys.empty()) return {};
  auto values = do_get_many(keys);
  const std::uint64_t hits = hits_in(values);
  if (hits != 0) count(Counter::hits, hits);
  if (values.size() != hits) count(Counter::misses, values.size() - hits);
  return values;
}

bool Cache::set_many(std::initializer_list<std::pair<std::string_view, std::string_view>> items, Ttl ttl) {
  return set_many(ItemList(items), ttl);
}
bool Cache::set_many(const std::vector<std::pair<std::string, std::string>>& items, Ttl ttl) {
  ItemList list;
  list.reserve(items.size());
  for (const auto& [k, v] : items) list.emplace_back(k, v);
  return set_many(list, ttl);
}
bool Cache::set_many(const ItemList& items, Ttl ttl) {
  if (items.empty()) return true;
  const bool ok = do_set_many(items, ttl);
  if (ok) count(Counter::sets, items.size());
  return ok;
}

std::size_t Cache::remove_many(std::initializer_list<std::string_view> keys) { return remove_many(KeyList(keys)); }
std::size_t Cache::remove_many(const std::vector<std::string>& keys) { return remove_many(to_key_list(keys)); }
std::size_t Cache::remove_many(const KeyList& keys) {
  if (keys.empty()) return 0;
  const std::size_t n = do_remove_many(keys);
  if (n != 0) count(Counter::removes, n);
  return n;
}

std::optional<std::int64_t> Cache::increment(std::string_view key, std::int64_t delta) {
  return do_increment(key, delta);
}

std::optional<std::int64_t> Cache::decrement(std::string_view key, std::int64_t delta) {
  if (delta == std::numeric_limits<std::int64_t>::min()) return std::nullopt;
  return do_increment(key, -delta);
}

std::optional<Ttl> Cache::ttl(std::string_view key) { return do_ttl(key); }
bool Cache::touch(std::string_view key, Ttl ttl) { return do_touch(key, ttl); }
bool Cache::clear() { return do_clear(); }
bool Cache::ping() { return do_ping(); }

CacheStats Cache::stats() const {
  const auto& c = core_->counters;
  CacheStats s;
  s.hits = c.sum(Counter::hits);
  s.misses = c.sum(Counter::misses);
  s.sets = c.sum(Counter::sets);
  s.removes = c.sum(Counter::removes);
  s.errors = c.sum(Counter::errors);
  s.evictions = c.sum(Counter::evictions);
  s.expirations = c.sum(Counter::expirations);
  s.errors_connection = c.sum(Counter::errors_connection);
  s.errors_timeout = c.sum(Counter::errors_timeout);
  s.errors_protocol = c.sum(Counter::errors_protocol);
  s.errors_reply = c.sum(Counter::errors_reply);
  s.errors_pool_exhausted = c.sum(Counter::errors_pool_exhausted);
  s.errors_tls = c.sum(Counter::errors_tls);
  s.stale_served = c.sum(Counter::stale_served);
  s.loader_timeouts = c.sum(Counter::loader_timeouts);
  s.background_loads = c.sum(Counter::background_loads);
  s.eager_refreshes = c.sum(Counter::eager_refreshes);
  s.lock_waits = c.sum(Counter::lock_waits);
  s.lock_timeouts = c.sum(Counter::lock_timeouts);
  fill_stats(s);
  return s;
}

void Cache::fill_stats(CacheStats&) const {}

}  // namespace cachet
