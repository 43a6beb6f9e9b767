// Internal: which endpoint (and so which pool) serves a key.
//
// The command layer asks the topology for a pool and never decides itself how
// an endpoint is chosen. Today there is one implementation, a single server;
// Sentinel (follow the current master) and Cluster (route by hash slot, one
// pool per node) plug in here without changing the commands.
#pragma once

#include <memory>
#include <string_view>
#include <vector>

#include "redis/pool.hpp"

namespace cachet::redis {

class Topology {
 public:
  virtual ~Topology() = default;
  /// The pool of the endpoint that owns the key `prefix + key` (passed in two
  /// parts so the caller need not concatenate them).
  virtual Pool& pool_for(std::string_view prefix, std::string_view key) = 0;
  /// Every endpoint holding data (clear() and ping() visit each).
  virtual std::vector<Pool*> pools() = 0;
};

/// One standalone server.
class StandaloneTopology final : public Topology {
 public:
  explicit StandaloneTopology(std::unique_ptr<Pool> pool) : pool_(std::move(pool)) {}
  Pool& pool_for(std::string_view, std::string_view) override { return *pool_; }
  std::vector<Pool*> pools() override { return {pool_.get()}; }

 private:
  std::unique_ptr<Pool> pool_;
};

}  // namespace cachet::redis
