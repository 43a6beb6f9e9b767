// Internal: the test-key round trip that decides whether a backend is usable.
// Used by CacheFactory's start-up probe and by FallbackCache's breaker probe.
#pragma once

#include <string>

#include "cachet/cache.hpp"
#include "cachet/errors.hpp"

namespace cachet::detail {

struct RoundTrip {
  bool ok = false;
  ErrorKind kind = ErrorKind::connection;  ///< meaningful when !ok
  std::string reason;                      ///< empty when ok
};

/// SETs a unique key ("cachet-probe:<pid>:<random>", 10 s TTL, so a probe whose
/// DEL never arrives leaves nothing for long) with a random value, GETs it back,
/// compares, and removes it. `cache` must throw BackendError on backend
/// failures (ErrorPolicy::Throw); those become {kind, what()}. Never throws.
RoundTrip test_key_round_trip(Cache& cache);

}  // namespace cachet::detail
