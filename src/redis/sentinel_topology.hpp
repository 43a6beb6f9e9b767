// Internal: the master a set of Redis Sentinels names, followed across
// failovers.
//
// The master is resolved on first use (the constructor never connects): the
// sentinels are asked in order (SENTINEL get-master-addr-by-name), and the
// first address given is confirmed with ROLE before it is used. It is resolved
// again when a connection to it fails, when it answers READONLY or MASTERDOWN
// (a demoted master), and when a sentinel announces +switch-master. Attempts
// are at least 100 ms apart unless a sentinel announced a switch.
//
// The announcement comes through a background thread subscribed to
// +switch-master on one sentinel. The transport has no way to interrupt a
// blocking read, so the subscriber waits at most 250 ms per read, then
// reconnects (and asks for the master's address again while at it): a missed
// announcement is caught within 250 ms, and the destructor returns within
// about that time plus connect_timeout.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "redis/topology.hpp"

namespace cachet::redis {

struct SentinelConfig {
  std::vector<Endpoint> sentinels;
  std::string master_name;
  ConnectionSettings sentinel_settings;  ///< AUTH and timeouts for the sentinels (db unused)
  PoolSettings pools;                    ///< for the master
};

class SentinelTopology final : public Topology {
 public:
  explicit SentinelTopology(SentinelConfig config);
  /// Stops the +switch-master subscriber (at most ~250 ms + connect_timeout).
  ~SentinelTopology() override;

  /// The current master for every key; resolved through the sentinels on first use.
  Pool* pool_for(std::string_view prefix, std::string_view key, Route& route, Failure& failure) override;
  /// The current master alone.
  std::vector<Pool*> pools(Failure& failure) override;
  /// READONLY, MASTERDOWN, LOADING: a demoted or not yet usable master; ask the sentinels again.
  bool follow(ErrorCause cause, std::string_view reply, const Pool& from, Route& route) override;
  /// Asks the sentinels again (rate-limited, never waits for another resolution).
  void lost() override;

 private:
  /// Asks the sentinels; installs and returns the confirmed master, else the
  /// current one (maybe null) with `failure` set. `wait`: wait for a
  /// resolution in progress; `force`: ignore the 100 ms spacing.
  Pool* resolve(bool wait, bool force, Failure* failure);
  /// The master's address from one sentinel; nullopt with `error` appended.
  std::optional<Endpoint> ask(const Endpoint& sentinel, std::string& error, Failure& failure);
  /// True when ROLE on `endpoint` says master.
  bool is_master(const Endpoint& endpoint, std::string& error, Failure& failure);
  Pool& pool_at(const Endpoint& endpoint);
  void watch();
  bool wait_for_stop(std::chrono::milliseconds d);

  const SentinelConfig config_;
  std::atomic<Pool*> master_{nullptr};

  std::mutex pools_mu_;
  std::map<std::string, std::unique_ptr<Pool>> pools_;  // by endpoint name; kept while the topology lives

  std::mutex resolve_mu_;  // one resolution at a time; guards the fields below
  std::int64_t last_attempt_ns_ = 0;
  Failure last_failure_;
  std::thread watcher_;

  std::mutex stop_mu_;
  std::condition_variable stop_cv_;
  std::atomic<bool> stop_{false};
};

}  // namespace cachet::redis
