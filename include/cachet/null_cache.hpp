// cachet/null_cache.hpp — a cache that stores nothing.
//
// NullCache is Flask-Caching's "null" type: for tests and for switching caching
// off without touching call sites. Every write is accepted and forgotten:
//   get -> nullopt (counted as a miss)   set / set_many -> true   add -> true
//   remove -> false   contains -> false   get_many -> all nullopt
//   remove_many -> 0   increment / decrement -> nullopt   ttl -> nullopt
//   touch -> false   clear -> true   ping -> true
//   get_or_set -> runs the loader every time (single-flight still applies to
//   concurrent callers) and returns its value.
// Thread safety: stateless apart from statistics; safe to share.
#pragma once

#include "cachet/cache.hpp"
#include "cachet/export.hpp"

namespace cachet {

class CACHET_EXPORT NullCache final : public Cache {
 public:
  NullCache() = default;
  ~NullCache() override { stop_background_loads(); }
  std::string_view backend() const noexcept override { return "null"; }

 private:
  Value do_get(std::string_view) override { return std::nullopt; }
  bool do_set(std::string_view, std::string_view, Ttl) override { return true; }
  bool do_add(std::string_view, std::string_view, Ttl) override { return true; }
  bool do_remove(std::string_view) override { return false; }
  bool do_contains(std::string_view) override { return false; }
  std::vector<Value> do_get_many(const KeyList& keys) override { return std::vector<Value>(keys.size()); }
  bool do_set_many(const ItemList&, Ttl) override { return true; }
  std::size_t do_remove_many(const KeyList&) override { return 0; }
  std::optional<std::int64_t> do_increment(std::string_view, std::int64_t) override { return std::nullopt; }
  std::optional<Ttl> do_ttl(std::string_view) override { return std::nullopt; }
  bool do_touch(std::string_view, Ttl) override { return false; }
  bool do_clear() override { return true; }
  bool do_ping() override { return true; }
  Ttl do_default_timeout() const noexcept override { return Ttl::never(); }
};

}  // namespace cachet
