// Test harness: a Sentinel set on free loopback ports — 1 master, 1 replica
// and 3 sentinels (quorum 2, down-after 1 s) that require a password
// ("sentinel-pw") from clients and from each other.
//
//   auto& set = cachet::test::shared_sentinels();     // started once per test binary
//   RedisCache cache(RedisOptions::from_url(set.url()));
//   set.master().kill();  set.wait_promoted(old) ...
//
// shared_sentinels() starts the set on first use and tears it down at exit. A
// test that fails over leaves the set with a master and a connected replica.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "support/redis_server.hpp"

namespace cachet::test {

class RedisSentinelSet {
 public:
  static constexpr const char* kMaster = "mymaster";
  static constexpr const char* kPassword = "sentinel-pw";

  /// Starts everything and waits (at most 30 s) until every sentinel knows the
  /// master, its replica and the other two sentinels. Throws otherwise.
  RedisSentinelSet();
  ~RedisSentinelSet();
  RedisSentinelSet(const RedisSentinelSet&) = delete;
  RedisSentinelSet& operator=(const RedisSentinelSet&) = delete;

  /// redis+sentinel://127.0.0.1:<s1>,...,127.0.0.1:<s3>/mymaster?sentinel_password=sentinel-pw
  std::string url() const;
  /// The data node the sentinels name as master now (the first running sentinel's answer).
  RedisServer& master() const;
  /// The other data node.
  RedisServer& replica() const;
  const std::vector<std::unique_ptr<RedisServer>>& sentinels() const { return sentinels_; }
  /// Waits until every running sentinel names the same running master, which
  /// says ROLE master, and the other data node is its connected replica.
  bool wait_stable(std::chrono::milliseconds timeout = std::chrono::seconds(30)) const;

 private:
  std::string named_master() const;  // "port" per the first sentinel that answers
  std::vector<std::unique_ptr<RedisServer>> data_;  // [0] the first master
  std::vector<std::unique_ptr<RedisServer>> sentinels_;
  std::string dir_;
};

RedisSentinelSet& shared_sentinels();

}  // namespace cachet::test
