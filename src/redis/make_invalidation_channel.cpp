// redis_invalidation_channel() (cachet/redis_cache.hpp): the one channel of a
// standalone server, or one per master for Cluster and Sentinel.
#include <memory>

#include "cachet/errors.hpp"
#include "cachet/redis_cache.hpp"
#include "redis/invalidation_channel.hpp"
#include "redis/make_topology.hpp"
#include "redis/node_channels.hpp"
#include "redis/settings.hpp"

namespace cachet {

std::unique_ptr<InvalidationChannel> redis_invalidation_channel(RedisOptions& l2, const InvalidationOptions& options) {
  options.validate();
  if (options.mode == InvalidationMode::none) {
    throw ConfigError("redis_invalidation_channel: mode none has no channel; build the HybridCache without one");
  }
  l2.validate();
  RedisOptions own = l2;
  own.connection_setup = nullptr;

  if (l2.topology != RedisTopology::standalone) {
    InvalidationOptions per_node = options;
    std::string note;
    if (options.mode == InvalidationMode::tracking) {
      per_node.mode = InvalidationMode::bcast;
      note = std::string("tracking was asked for, but over ") + to_string(l2.topology) +
             " the data connections and a channel are not on one server";
    }
    RedisOptions discovery = own;
    discovery.pool_size = 1;
    return std::make_unique<redis::NodeChannels>(redis::make_topology(discovery, /*warn_unverified=*/false),
                                                 redis::connection_settings(own, false), own.key_prefix, per_node,
                                                 own.pool_wait_timeout, std::move(note));
  }

  std::shared_ptr<redis::TrackingSetup> setup;
  if (options.mode == InvalidationMode::tracking) {
    setup = std::make_shared<redis::TrackingSetup>();
    l2.connection_setup = setup;
  }
  return std::make_unique<redis::RedisInvalidationChannel>(redis::endpoint_of(own),
                                                           redis::connection_settings(own, false), own.key_prefix,
                                                           options, own.pool_wait_timeout, std::move(setup));
}

}  // namespace cachet
