// The InvalidationMode names, InvalidationOptions' checks, and the
// InvalidationChannel base (include/cachet/invalidation.hpp).
#include "cachet/invalidation.hpp"

#include <string>

#include "cachet/errors.hpp"

namespace cachet {

const char* to_string(InvalidationMode mode) noexcept {
  switch (mode) {
    case InvalidationMode::bcast: return "bcast";
    case InvalidationMode::tracking: return "tracking";
    case InvalidationMode::pubsub: return "pubsub";
    case InvalidationMode::none: return "none";
  }
  return "unknown";
}

void InvalidationOptions::validate() const {
  using std::chrono::milliseconds;
  if (heartbeat < milliseconds(10) || heartbeat > std::chrono::minutes(1)) {
    throw ConfigError("InvalidationOptions.heartbeat=" + std::to_string(heartbeat.count()) +
                      "ms is invalid; accepted: 10ms to 1min");
  }
}

InvalidationChannel::~InvalidationChannel() = default;

}  // namespace cachet
