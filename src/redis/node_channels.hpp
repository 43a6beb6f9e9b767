// Internal: the InvalidationChannel of a HybridCache over Redis Cluster or
// Sentinel — one RedisInvalidationChannel per master, kept in step with the
// topology.
//
// Each master holding data gets a channel of its own (subscriber + control
// connection on that node, bcast or pubsub), because a server reports only
// the changes made on it. A supervisor thread asks a topology of the
// channel's own (never the L2's pools) for the masters once per heartbeat —
// Cluster: CLUSTER SLOTS; Sentinel: the master the sentinels name — and
// starts a channel for a new master and stops the channel of a node that no
// longer is one (a failover, a reshard onto a new node).
//
// To the listener the set looks like one channel: ready() only while every
// master's channel is registered; channel_lost() when any of them is lost or
// a master has none yet, so the HybridCache bypasses its L1 until every node
// reports again; listener calls are serialised (one at a time, in order).
// tracking mode is not offered here (the data connections and the channel
// would have to be on one server): bcast is used and mode_reason() says so.
// When any node refuses CLIENT TRACKING and its channel falls back to pubsub,
// mode() is pubsub for the set, and writes are published through that node.
//
// Thread safety: as InvalidationChannel.
#pragma once

#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "cachet/invalidation.hpp"
#include "redis/topology.hpp"

namespace cachet::redis {

class NodeChannels final : public InvalidationChannel {
 public:
  /// `discovery` finds the masters (pool size 1, nothing registered on its
  /// connections). `settings` connect every per-node channel (no
  /// ConnectionSetup). `note` is prepended to mode_reason() (e.g. why
  /// tracking became bcast); may be empty.
  NodeChannels(std::unique_ptr<Topology> discovery, ConnectionSettings settings, std::string prefix,
               InvalidationOptions options, std::chrono::milliseconds pool_wait, std::string note);
  ~NodeChannels() override;

  void start(InvalidationListener& listener) override;
  void stop() noexcept override;
  InvalidationMode mode() const noexcept override;
  std::string mode_reason() const override;
  bool ready() const noexcept override;
  void wrote(const std::vector<std::string_view>& keys) noexcept override;
  void cleared() noexcept override;
  bool write_from_outside(std::string_view key, std::string_view value, std::string& error) override;

 private:
  struct Node;
  class Relay;

  /// Starts channels for new masters and stops those of former ones.
  void reconcile();
  /// Outer listener: lost unless every node is ready; ready when all are.
  void relay_lost(std::string_view why);
  void relay_ready();
  void supervise();
  /// A node whose channel is in pubsub mode (null: none). nodes_mu_ held.
  std::shared_ptr<Node> publisher_locked() const;

  std::unique_ptr<Topology> discovery_;
  const ConnectionSettings settings_;
  const std::string prefix_;
  const InvalidationOptions options_;
  const std::chrono::milliseconds pool_wait_;
  const std::string note_;

  InvalidationListener* listener_ = nullptr;
  mutable std::mutex nodes_mu_;  // guards nodes_ (the list, not the channels' own state)
  std::vector<std::shared_ptr<Node>> nodes_;
  std::string discovery_error_;  // guarded by nodes_mu_: why no master is known, if so
  std::mutex listener_mu_;        // one listener call at a time
  bool outer_ready_ = false;      // guarded by listener_mu_

  std::mutex stop_mu_;
  std::condition_variable stop_cv_;
  bool stop_ = false;  // guarded by stop_mu_
  std::thread thread_;
};

}  // namespace cachet::redis
