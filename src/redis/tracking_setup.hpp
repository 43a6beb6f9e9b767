// Internal: the ConnectionSetup of an invalidation channel in `tracking` mode.
//
// Every data connection of the L2 pool runs `CLIENT TRACKING on REDIRECT <id>
// NOLOOP` after its handshake, <id> being the channel's subscriber. The
// server then tracks the keys each connection reads, so a connection that
// closes takes its tracked keys with it: the setup remembers the client ids
// of the connections registered under the current generation, and reports a
// loss when one of them closes or fails to register. The channel checks
// those ids against CLIENT LIST on each heartbeat (a connection the server
// killed while idle in the pool is noticed there).
//
// Thread safety: any thread (pool users report; the channel reads).
#pragma once

#include <atomic>
#include <mutex>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "redis/connection_setup.hpp"

namespace cachet::redis {

class TrackingSetup final : public ConnectionSetup {
 public:
  std::uint64_t generation() const noexcept override { return generation_.load(); }

  std::vector<Command> commands(std::uint64_t& generation) const override {
    std::lock_guard<std::mutex> lock(mu_);
    generation = generation_.load();
    return commands_;
  }

  void established(std::uint64_t generation, long long client_id, std::string_view error) override {
    std::lock_guard<std::mutex> lock(mu_);
    if (generation != generation_.load()) return;
    if (!error.empty()) {
      lost_ = "a data connection could not register CLIENT TRACKING: " + std::string(error);
      return;
    }
    if (!commands_.empty()) ids_.insert(client_id);  // after cancel(): nothing registered, nothing to lose
  }

  void closed(std::uint64_t generation, long long client_id) noexcept override {
    std::lock_guard<std::mutex> lock(mu_);
    if (generation != generation_.load() || ids_.erase(client_id) == 0) return;
    lost_ = "a tracked data connection closed";
  }

  /// New registration: connections redirect to `subscriber_id` from now on;
  /// connections of older generations are replaced before reuse.
  void renew(long long subscriber_id) {
    std::lock_guard<std::mutex> lock(mu_);
    commands_ = {{"CLIENT", "TRACKING", "on", "REDIRECT", std::to_string(subscriber_id), "NOLOOP"}};
    ids_.clear();
    lost_.clear();
    generation_.fetch_add(1);
  }

  /// Tracking given up (the channel fell back to pubsub): connections of
  /// earlier generations are replaced before reuse and new ones register nothing.
  void cancel() {
    std::lock_guard<std::mutex> lock(mu_);
    if (generation_.load() == 0) return;  // never registered: nothing to undo
    commands_.clear();
    ids_.clear();
    lost_.clear();
    generation_.fetch_add(1);
  }

  /// The reason of a loss reported since the last call ("" = none); clears it.
  std::string take_loss() {
    std::lock_guard<std::mutex> lock(mu_);
    return std::exchange(lost_, std::string());
  }

  /// The client ids registered under the current generation.
  std::vector<long long> ids() const {
    std::lock_guard<std::mutex> lock(mu_);
    return {ids_.begin(), ids_.end()};
  }

  /// After CLIENT LIST: `id` is gone. Reports a loss when it was registered.
  void vanished(long long id) {
    std::lock_guard<std::mutex> lock(mu_);
    if (ids_.erase(id) != 0) lost_ = "a tracked data connection was closed by the server";
  }

 private:
  mutable std::mutex mu_;
  std::atomic<std::uint64_t> generation_{0};
  std::vector<Command> commands_;  // guarded by mu_
  std::set<long long> ids_;        // guarded by mu_
  std::string lost_;               // guarded by mu_
};

}  // namespace cachet::redis
