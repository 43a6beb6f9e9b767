// Internal: Redis Cluster routing.
//
// A table of 16384 slots, each pointing at the shard (master pool + replica
// pools) that serves it, read with one atomic load per operation. Pools are
// created per node as nodes become known and live as long as the topology,
// so a pool handed out stays valid while the table changes under it.
//
// The table comes from CLUSTER SLOTS, asked of the node that answered last,
// then every other known node, then the seeds. It is read on first use (the
// constructor never connects), every slot_refresh_interval, and after a MOVED,
// a CLUSTERDOWN or a lost connection; at most one refresh runs at a time and
// attempts are at least 100 ms apart, so an outage does not turn into a storm
// of CLUSTER SLOTS. A MOVED also repoints its slot at once.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "redis/crc16.hpp"
#include "redis/slot_map.hpp"
#include "redis/topology.hpp"

namespace cachet::redis {

struct ClusterConfig {
  std::vector<Endpoint> seeds;
  PoolSettings pools;  ///< db is always 0 in a cluster
  bool read_from_replicas = false;
  std::chrono::milliseconds refresh_interval{30000};
};

class ClusterTopology final : public Topology {
 public:
  explicit ClusterTopology(ClusterConfig config);
  ~ClusterTopology() override;

  /// The slot's master, or a replica (round-robin, route.readonly) for a read
  /// with read_from_replicas; reads the slot map first when there is none.
  Pool* pool_for(std::string_view prefix, std::string_view key, Route& route, Failure& failure) override;
  /// Every master, from a slot map at most 100 ms old.
  std::vector<Pool*> pools(Failure& failure) override;
  /// MOVED (repoint the slot), ASK, TRYAGAIN / CLUSTERDOWN (backoff), READONLY / LOADING (to the master).
  bool follow(ErrorCause cause, std::string_view reply, const Pool& from, Route& route) override;
  /// Re-reads the slot map (rate-limited, never waits for another refresh).
  void lost() override;
  /// Every one of the 16384 slots has a master.
  bool serves_all(Failure& failure) override;

 private:
  struct Shard {
    Pool* master = nullptr;
    std::vector<Pool*> replicas;
    mutable std::atomic<unsigned> next_replica{0};
  };

  Pool& node(const Endpoint& endpoint);
  const Shard* shard(Pool* master, std::vector<Pool*> replicas);
  /// Reads CLUSTER SLOTS and installs it. `wait`: wait for a refresh that is
  /// running instead of returning at once. True when the table is usable.
  bool refresh(bool wait);
  bool try_refresh_from(Pool& pool, std::string& errors, Failure& first_failure);
  void install(const std::vector<SlotRange>& ranges);
  Failure unusable(std::string what) const;

  const ClusterConfig config_;
  std::array<std::atomic<const Shard*>, kClusterSlots> slots_{};
  std::atomic<std::int64_t> last_refresh_ns_{0};  // steady clock, last successful refresh

  std::mutex nodes_mu_;                               // guards nodes_, node_order_, shards_, shard_index_
  std::map<std::string, std::unique_ptr<Pool>> nodes_;  // by endpoint name
  std::vector<Pool*> node_order_;                     // in the order nodes became known
  std::deque<std::unique_ptr<Shard>> shards_;         // never freed while the topology lives
  std::map<std::string, const Shard*> shard_index_;   // "master replica..." -> shard

  std::mutex refresh_mu_;                  // one refresh at a time; guards the fields below
  std::int64_t last_attempt_ns_ = 0;
  bool last_ok_ = false;
  Pool* last_source_ = nullptr;
  std::string last_error_;
  Failure last_failure_;
};

}  // namespace cachet::redis
