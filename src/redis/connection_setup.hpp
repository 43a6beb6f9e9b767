// Internal: what every new connection of a pool does right after AUTH/SELECT,
// for owners that need per-connection server state (today: CLIENT TRACKING for
// a HybridCache's invalidation channel in `tracking` mode, where the server
// remembers the keys each connection read).
//
// The command layer never sees this: the pool hands it to Connection::open,
// which asks the setup for its commands, runs them, and reports the outcome;
// the pool reports when such a connection is closed. When the owner changes
// the commands (a new generation, e.g. the channel reconnected and has a new
// client id), connections set up under an older generation are closed before
// reuse and reopened.
//
// Thread safety: every method may be called from any thread (pool users,
// the channel's own thread).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace cachet::redis {

class ConnectionSetup {
 public:
  using Command = std::vector<std::string>;

  virtual ~ConnectionSetup() = default;

  /// The current generation; 0 = nothing to run (connections are set up as usual).
  virtual std::uint64_t generation() const noexcept = 0;
  /// The commands of the current generation, and that generation.
  virtual std::vector<Command> commands(std::uint64_t& generation) const = 0;
  /// A connection ran the commands of `generation`: `client_id` is its CLIENT
  /// ID; `error` is empty when every command succeeded, else the first error
  /// reply (the connection stays usable for data).
  virtual void established(std::uint64_t generation, long long client_id, std::string_view error) = 0;
  /// A connection set up under `generation` was closed (broken, found closed
  /// before reuse, or replaced after a generation change).
  virtual void closed(std::uint64_t generation, long long client_id) noexcept = 0;
};

}  // namespace cachet::redis
