// Internal: reading a Redis Cluster's slot map from its CLUSTER SLOTS reply.
//
// Pure parsing, no network: the reply becomes a list of slot ranges, each with
// the endpoint of its master and of its replicas. ClusterTopology turns the
// list into its per-slot table.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "redis/connection.hpp"

struct redisReply;

namespace cachet::redis {

/// The slots first..last (inclusive) and the nodes serving them.
struct SlotRange {
  int first = 0;
  int last = 0;
  Endpoint master;
  std::vector<Endpoint> replicas;
};

/// The ranges of a CLUSTER SLOTS reply. A node announced with an empty or "?"
/// address is taken to live on `answering_host` (the node that replied), as
/// Redis documents. nullopt and `error` set when the reply is not shaped like
/// one (not an array, bad ranges, bad ports).
std::optional<std::vector<SlotRange>> parse_cluster_slots(const redisReply& reply, std::string_view answering_host,
                                                          std::string& error);

}  // namespace cachet::redis
