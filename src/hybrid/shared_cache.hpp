// Internal: a Cache that is a second handle on a shared one, so that one
// in-memory cache can be both a HybridCache's L1 and the secondary of the
// FallbackCache that is that HybridCache's L2 (one memory budget during an
// outage, not two copies). Every verb forwards; reads forward get_stored, so
// entries keep their get_or_set header. Its own stats() count what passed
// through it; items and bytes are the shared cache's.
//
// As the FallbackCache's secondary it is written only during an outage, and
// cleared when the FallbackCache recovers: `holds_writes` (shared with the
// HybridCache, detail::attach_outage_store) is true from the first write
// until that clear, so the hybrid leaves the journaled entries alone.
//
// Thread safety: as the shared cache (every Cache is thread-safe).
#pragma once

#include <atomic>
#include <memory>

#include "cachet/cache.hpp"

namespace cachet::detail {

class SharedCache final : public Cache {
 public:
  SharedCache(std::shared_ptr<Cache> target, std::shared_ptr<std::atomic<bool>> holds_writes)
      : target_(std::move(target)), holds_writes_(std::move(holds_writes)) {}
  ~SharedCache() override { stop_background_loads(); }

  std::string_view backend() const noexcept override { return target_->backend(); }

 protected:
  void fill_stats(CacheStats& s) const override {
    const auto t = target_->stats();
    s.items = t.items;
    s.bytes = t.bytes;
  }

 private:
  Value do_get(std::string_view key) override { return target_->get_stored(key); }
  bool do_set(std::string_view key, std::string_view value, Ttl ttl) override {
    written();
    return target_->set(key, value, ttl);
  }
  bool do_add(std::string_view key, std::string_view value, Ttl ttl) override {
    written();
    return target_->add(key, value, ttl);
  }
  bool do_remove(std::string_view key) override {
    written();
    return target_->remove(key);
  }
  bool do_contains(std::string_view key) override { return target_->contains(key); }
  std::vector<Value> do_get_many(const KeyList& keys) override { return target_->get_many_stored(keys); }
  bool do_set_many(const ItemList& items, Ttl ttl) override {
    written();
    return target_->set_many(items, ttl);
  }
  std::size_t do_remove_many(const KeyList& keys) override {
    written();
    return target_->remove_many(keys);
  }
  std::optional<std::int64_t> do_increment(std::string_view key, std::int64_t delta) override {
    written();
    return target_->increment(key, delta);
  }
  std::optional<Ttl> do_ttl(std::string_view key) override { return target_->ttl(key); }
  bool do_touch(std::string_view key, Ttl ttl) override {
    written();
    return target_->touch(key, ttl);
  }
  bool do_clear() override {
    const bool ok = target_->clear();
    holds_writes_->store(false);
    return ok;
  }
  bool do_ping() override { return target_->ping(); }
  Ttl do_default_timeout() const noexcept override { return target_->default_timeout(); }
  LockResult do_try_lock(std::string_view lock_key, std::string_view token, Ttl ttl) override {
    return target_->try_lock(lock_key, token, ttl);
  }
  void do_unlock(std::string_view lock_key, std::string_view token) override { target_->unlock(lock_key, token); }

  void written() { holds_writes_->store(true); }

  std::shared_ptr<Cache> target_;
  std::shared_ptr<std::atomic<bool>> holds_writes_;
};

}  // namespace cachet::detail
