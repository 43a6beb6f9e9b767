// MetricsRegistry: named caches scraped together into one exposition.
#include <map>
#include <mutex>
#include <stdexcept>
#include <string>

#include "cachet/cache.hpp"
#include "cachet/metrics.hpp"
#include "core/cache_core.hpp"
#include "core/log.hpp"
#include "metrics/exposition.hpp"

namespace cachet {

struct MetricsRegistry::Impl {
  struct Entry {
    const Cache* cache;
    std::shared_ptr<metrics::Registration> registration;
    mutable bool reported_dead = false;  // guarded by mu
  };
  mutable std::mutex mu;  // held by add, remove and every scrape
  std::map<std::string, Entry, std::less<>> caches;

  static void release(const Entry& e) { e.registration->registries.fetch_sub(1, std::memory_order_acq_rel); }
};

MetricsRegistry::MetricsRegistry() : impl_(std::make_unique<Impl>()) {}

MetricsRegistry::~MetricsRegistry() {
  for (const auto& [name, e] : impl_->caches) Impl::release(e);
}

void MetricsRegistry::add(std::string name, const Cache& cache) {
  auto registration = metrics::MetricsAccess::registration(cache);
  std::lock_guard<std::mutex> lock(impl_->mu);
  if (impl_->caches.count(name) != 0) {
    throw std::invalid_argument("MetricsRegistry::add: the name '" + name +
                                "' is already registered; accepted: a name not in use (remove it first)");
  }
  registration->registries.fetch_add(1, std::memory_order_acq_rel);
  impl_->caches.emplace(std::move(name), Impl::Entry{&cache, std::move(registration)});
}

void MetricsRegistry::remove(std::string_view name) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  auto it = impl_->caches.find(name);
  if (it == impl_->caches.end()) return;
  Impl::release(it->second);
  impl_->caches.erase(it);
}

std::string MetricsRegistry::prometheus_text() const {
  MetricsWriter w;
  metrics::declare_core_families(w);
  std::lock_guard<std::mutex> lock(impl_->mu);
  for (const auto& [name, e] : impl_->caches) {
    if (!e.registration->alive.load(std::memory_order_acquire)) {
      if (!e.reported_dead) {
        detail::log()->error("cachet: MetricsRegistry: the cache registered as '{}' was destroyed without remove(); "
                             "it is left out of the metrics",
                             name);
        e.reported_dead = true;
      }
      continue;
    }
    metrics::write_cache(w, *e.cache, name);
  }
  return w.text();
}

}  // namespace cachet
