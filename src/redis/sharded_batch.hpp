// Internal: get_many / set_many / remove_many over a sharded topology (Redis
// Cluster), where one multi-key command cannot span slots.
//
// The keys are grouped by the node that serves them; each node gets one
// pipelined request of single-key commands (GET, SET [PX], UNLINK), and every
// node's request is sent before any reply is read, so the nodes work at the
// same time. Results come back in the caller's order. A key that is MOVED or
// ASKed elsewhere is retried on its new node in the next round; TRYAGAIN and
// CLUSTERDOWN wait (once per round, bounded by socket_timeout). A node that
// fails fails only its own keys (misses / not stored / not removed); the batch
// then counts one error (and under ErrorPolicy::Throw throws it after every
// node's replies were read).
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "cachet/ttl.hpp"
#include "redis/commands.hpp"

namespace cachet::redis {

std::vector<std::optional<std::string>> sharded_get_many(Commands& c, const std::vector<std::string_view>& keys);

/// True when every item was stored.
bool sharded_set_many(Commands& c, const std::vector<std::pair<std::string_view, std::string_view>>& items,
                      Ttl resolved);

/// How many of the keys existed and were removed.
std::size_t sharded_remove_many(Commands& c, const std::vector<std::string_view>& keys);

}  // namespace cachet::redis
