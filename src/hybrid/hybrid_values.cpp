// The value types of cachet/hybrid_cache.hpp: HybridOptions' checks and
// HybridStats printed.
#include <chrono>
#include <string>
#include <utility>

#include "cachet/errors.hpp"
#include "cachet/hybrid_cache.hpp"
#include "core/fields.hpp"

namespace cachet {

using std::chrono::milliseconds;

void HybridOptions::validate() const {
  if (l1_max_ttl < milliseconds(1) || l1_max_ttl > std::chrono::hours(24)) {
    throw ConfigError("HybridOptions.l1_max_ttl=" + std::to_string(l1_max_ttl.count()) +
                      "ms is invalid; accepted: 1ms to 24h");
  }
}

std::string HybridStats::to_string() const {
  std::string s = std::string("mode=") + cachet::to_string(mode) + " l1_in_use=" + (l1_in_use ? "yes" : "no");
  for (const auto& [name, value] :
       {std::pair<const char*, std::uint64_t>{"l1_hits", l1_hits}, {"l2_hits", l2_hits}, {"misses", misses},
        {"invalidations", invalidations}, {"flushes", flushes}, {"l1_clears_flush", l1_clears_flush},
        {"l1_clears_channel_loss", l1_clears_channel_loss}, {"l1_clears_recovery", l1_clears_recovery},
        {"channel_losses", channel_losses}, {"stale_installs_prevented", stale_installs_prevented}}) {
    detail::append_field(s, name, value);
  }
  return s;
}

}  // namespace cachet
