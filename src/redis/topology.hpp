// Internal: which endpoint (and so which pool) serves a key.
//
// The command layer asks the topology for a pool and never decides itself how
// an endpoint is chosen. Three implementations: one standalone server (here),
// Sentinel (follow the current master: sentinel_topology.hpp) and Cluster
// (route by hash slot, one pool per node: cluster_topology.hpp).
//
// An operation carries a Route: what it needs (a read may go to a replica),
// and, after an error reply the topology understood (MOVED, ASK, TRYAGAIN,
// CLUSTERDOWN, READONLY), where its next attempt goes. follow() is the only
// place that decides whether an operation is retried; it bounds the retries
// (max_redirects, and socket_timeout for backoff), so no operation loops.
//
// Thread safety: every method may be called from any thread at any time.
#pragma once

#include <chrono>
#include <memory>
#include <string_view>
#include <vector>

#include "redis/pool.hpp"

namespace cachet::redis {

/// How a topology opens its pools: the same for every node it finds.
struct PoolSettings {
  ConnectionSettings connection;
  std::size_t size = 2;  ///< connections per node
  std::chrono::milliseconds wait_timeout{1000};
  int max_redirects = 5;  ///< redirects / re-resolutions per operation
};

/// One operation's way through the topology.
struct Route {
  bool read = false;      ///< in: the operation only reads (a replica may serve it)
  Pool* pool = nullptr;   ///< set by follow(): the next attempt goes here instead of the key's owner
  Pool* used = nullptr;   ///< the pool of the latest attempt
  bool asking = false;    ///< send ASKING before the command (an ASK redirect)
  bool readonly = false;  ///< send READONLY before the command (a replica serving a read)
  int redirects = 0;      ///< MOVED / ASK / READONLY retries so far
  std::chrono::steady_clock::time_point backoff_since{};  ///< first TRYAGAIN / CLUSTERDOWN wait, if any
};

class Topology {
 public:
  virtual ~Topology() = default;
  /// The pool of the endpoint that serves the key `prefix + key` (passed in
  /// two parts so the caller need not concatenate them); may set
  /// route.readonly. Null with `failure` when no endpoint is known to serve it.
  virtual Pool* pool_for(std::string_view prefix, std::string_view key, Route& route, Failure& failure) = 0;
  /// Every endpoint holding data (clear() and ping() visit each); empty with
  /// `failure` when none is known.
  virtual std::vector<Pool*> pools(Failure& failure) = 0;
  /// An error reply of `cause` (`reply` its text) came from `from`: true when
  /// the operation should run again, with `route` updated; false when the
  /// reply is the operation's failure.
  virtual bool follow(ErrorCause /*cause*/, std::string_view /*reply*/, const Pool& /*from*/, Route& /*route*/) {
    return false;
  }
  /// A connection failed (connect, I/O, timeout): the topology may have
  /// changed.
  virtual void lost() {}
  /// True when every part of the key space has an endpoint (Cluster: every
  /// slot); false with `failure` otherwise. ping() asks it first.
  virtual bool serves_all(Failure& /*failure*/) { return true; }
};

/// One standalone server.
class StandaloneTopology final : public Topology {
 public:
  explicit StandaloneTopology(std::unique_ptr<Pool> pool) : pool_(std::move(pool)) {}
  Pool* pool_for(std::string_view, std::string_view, Route&, Failure&) override { return pool_.get(); }
  std::vector<Pool*> pools(Failure&) override { return {pool_.get()}; }

 private:
  std::unique_ptr<Pool> pool_;
};

}  // namespace cachet::redis
