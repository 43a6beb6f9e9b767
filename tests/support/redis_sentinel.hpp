// Test harness: a Sentinel set on free loopback ports — 1 master, 1 replica
// and 3 sentinels (quorum 2, down-after 1 s) that require a password
// ("sentinel-pw") from clients and from each other; in plaintext, or with
// every node and sentinel serving TLS only.
//
//   auto& set = cachet::test::shared_sentinels();     // started once per test binary
//   RedisCache cache(RedisOptions::from_url(set.url()));
//   set.master().kill();  set.wait_stable() ...
//
// shared_sentinels() and shared_tls_sentinels() start their set on first use
// and tear it down at exit. A test that fails over leaves the set with a
// master and a connected replica.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
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
  /// With `tls`: the data nodes and the sentinels serve TLS only (plain port
  /// 0) and talk TLS to each other (tls-replication), so the sentinels name
  /// TLS ports; url() is then rediss+sentinel://. The harness's own commands
  /// go over each server's unix socket.
  explicit RedisSentinelSet(std::optional<RedisServer::TlsFiles> tls = std::nullopt);
  ~RedisSentinelSet();
  RedisSentinelSet(const RedisSentinelSet&) = delete;
  RedisSentinelSet& operator=(const RedisSentinelSet&) = delete;

  /// redis+sentinel://127.0.0.1:<s1>,...,127.0.0.1:<s3>/mymaster?sentinel_password=sentinel-pw;
  /// rediss+sentinel://... for a TLS set (the caller adds ssl_* keys).
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
  bool tls_ = false;
};

/// The plaintext set shared by the tests of this binary (started on first use).
RedisSentinelSet& shared_sentinels();
/// The TLS set shared by the tests of this binary (started on first use):
/// certificates from TlsCerts::shared() (node_cert, for serving and as a
/// client), clients not asked for a certificate.
RedisSentinelSet& shared_tls_sentinels();

}  // namespace cachet::test
