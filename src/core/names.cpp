// String names of public enums and the stats line.
#include <string>

#include "cachet/errors.hpp"
#include "cachet/stats.hpp"
#include "cachet/version.hpp"

namespace cachet {

const char* to_string(ErrorKind kind) noexcept {
  switch (kind) {
    case ErrorKind::connection: return "connection";
    case ErrorKind::timeout: return "timeout";
    case ErrorKind::protocol: return "protocol";
    case ErrorKind::reply: return "reply";
    case ErrorKind::pool_exhausted: return "pool_exhausted";
  }
  return "unknown";
}

const char* to_string(BreakerState state) noexcept {
  switch (state) {
    case BreakerState::none: return "none";
    case BreakerState::closed: return "closed";
    case BreakerState::open: return "open";
    case BreakerState::half_open: return "half_open";
  }
  return "unknown";
}

std::string CacheStats::to_string() const {
  std::string s;
  auto field = [&s](const char* name, std::uint64_t v) {
    if (!s.empty()) s += ' ';
    s += name;
    s += '=';
    s += std::to_string(v);
  };
  field("hits", hits);
  field("misses", misses);
  field("sets", sets);
  field("removes", removes);
  field("errors", errors);
  field("evictions", evictions);
  field("expirations", expirations);
  field("items", items);
  field("bytes", bytes);
  if (errors != 0) {
    field("errors_connection", errors_connection);
    field("errors_timeout", errors_timeout);
    field("errors_protocol", errors_protocol);
    field("errors_reply", errors_reply);
    field("errors_pool_exhausted", errors_pool_exhausted);
  }
  if (breaker_state != BreakerState::none) {
    s += " breaker=";
    s += cachet::to_string(breaker_state);
    field("breaker_trips", breaker_trips);
    field("time_open_ms", static_cast<std::uint64_t>(time_open.count()));
    field("journal_size", journal_size);
    field("journal_overflows", journal_overflows);
    field("replays", replays);
    field("secondary_ops", secondary_ops);
  }
  return s;
}

const char* version() noexcept { return CACHET_VERSION_STRING; }

}  // namespace cachet
