// Test harness: a real Redis Cluster of 3 masters + 3 replicas (the bench:
// 3 masters alone) on free loopback ports, made of RedisServers
// (cluster-enabled, node timeout 1 s) joined by `redis-cli --cluster create`.
//
//   auto& cluster = cachet::test::shared_cluster();   // started once per test binary
//   auto opts = cachet::RedisOptions::from_url(cluster.url());
//   cluster.master_of_slot(1234).kill(); cluster.wait_for_failover(...);
//
// shared_cluster() starts the cluster on first use and tears it down at exit
// (servers killed, temporary directories removed). A test that kills or
// reshards leaves the cluster serving every slot again before it ends
// (restart() the killed node, wait_ok()).
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "support/redis_server.hpp"

namespace cachet::test {

/// True when redis-cli is installed (the cluster and its checks need it).
bool redis_cli_available();

class RedisCluster {
 public:
  /// Starts 3 masters with `replicas_per_master` replicas each and creates the
  /// cluster; waits (at most 30 s) until every node reports cluster_state:ok
  /// and every replica is in sync. Throws std::runtime_error otherwise.
  /// With `tls`: every node serves TLS only (clients, cluster bus and
  /// replication), so CLUSTER SLOTS names TLS ports; url() is then rediss+cluster://.
  explicit RedisCluster(int replicas_per_master = 1, std::optional<RedisServer::TlsFiles> tls = std::nullopt);
  ~RedisCluster();
  RedisCluster(const RedisCluster&) = delete;
  RedisCluster& operator=(const RedisCluster&) = delete;

  /// redis+cluster://127.0.0.1:<p1>,127.0.0.1:<p2>,127.0.0.1:<p3> (three
  /// seeds); rediss+cluster://... for a TLS cluster (the caller adds ssl_* keys).
  std::string url() const;
  /// Every node, running or not.
  const std::vector<std::unique_ptr<RedisServer>>& nodes() const { return nodes_; }
  /// The running nodes that are masters now (ROLE).
  std::vector<RedisServer*> masters() const;
  /// The running master that serves `slot` now (CLUSTER SLOTS).
  RedisServer& master_of_slot(int slot) const;
  /// The node id of a node (CLUSTER MYID).
  std::string node_id(const RedisServer& node) const;
  /// Waits until every running node says cluster_state:ok, agrees on who
  /// serves every slot and no slot is migrating; false after `timeout`.
  bool wait_ok(std::chrono::milliseconds timeout = std::chrono::seconds(20)) const;
  /// Runs redis-cli with `args` (its output in the returned string); throws
  /// when it exits non-zero.
  std::string cli(const std::vector<std::string>& args) const;

 private:
  std::vector<std::unique_ptr<RedisServer>> nodes_;
  std::string dir_;
  bool tls_ = false;
};

/// The cluster shared by the tests of this binary (started on first use).
RedisCluster& shared_cluster();

}  // namespace cachet::test
