// cachet/invalidation.hpp — how a HybridCache learns that entries of its L1
// changed elsewhere.
//
// An InvalidationChannel tells its listener (the HybridCache) which keys were
// changed by anyone, when the server was flushed, and when it cannot tell
// (the channel is lost: the listener then stops trusting its L1). The Redis
// implementation (redis_invalidation_channel() in redis_cache.hpp) uses
// server-assisted client-side caching: CLIENT TRACKING with REDIRECT to a
// connection subscribed to `__redis__:invalidate` (RESP2), or, in `pubsub`
// mode, messages cachet processes publish about their own writes. For Redis
// Cluster and Sentinel it is one such channel per master behind this interface.
//
// Thread safety: a channel calls its listener from its own thread(s), never
// after stop() returned; wrote() / cleared() / write_from_outside() may be
// called from any thread.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "cachet/export.hpp"

namespace cachet {

/// How the L1 of a HybridCache is kept coherent (docs/hybrid.md).
enum class InvalidationMode {
  bcast,     ///< the server reports every change under the key prefix, by anyone (default)
  tracking,  ///< the server reports changes to the keys this process read (less traffic, more server memory)
  pubsub,    ///< cachet processes publish their own writes; writers outside cachet are NOT seen
  none,      ///< no invalidation: L1 entries live at most l1_max_ttl (explicit choice)
};

/// "bcast", "tracking", "pubsub", "none".
CACHET_EXPORT const char* to_string(InvalidationMode mode) noexcept;

/// Options of redis_invalidation_channel().
struct InvalidationOptions {
  /// The mode asked for. bcast and tracking fall back to pubsub when the server
  /// refuses CLIENT TRACKING (the channel's mode_reason() says so). `none` is
  /// not a channel: build the HybridCache without one. Default bcast.
  InvalidationMode mode = InvalidationMode::bcast;
  /// The subscriber connection is pinged this often; a ping unanswered for
  /// one interval declares the channel lost. So a silently dead channel is
  /// noticed within about one interval: the longest time a stale L1 entry
  /// can be served. Default 1 s; 10 ms to 1 min.
  std::chrono::milliseconds heartbeat{1000};

  /// Throws ConfigError naming the invalid field.
  void validate() const;
};

/// What a channel reports to (implemented by HybridCache).
class InvalidationListener {
 public:
  /// `key` (the cache's key, prefix removed) was changed or deleted by someone.
  virtual void invalidate(std::string_view key) = 0;
  /// The server's data was flushed (FLUSHDB / FLUSHALL): everything is stale.
  virtual void invalidate_all() = 0;
  /// The channel can no longer tell what changes (disconnected, heartbeat
  /// unanswered, a tracked connection closed). `why` is for logs.
  virtual void channel_lost(std::string_view why) = 0;
  /// The channel is (again) registered: every change from now on is reported.
  virtual void channel_ready() = 0;
  /// Called once per heartbeat interval on the channel's thread.
  virtual void tick() = 0;

 protected:
  ~InvalidationListener() = default;
};

class CACHET_EXPORT InvalidationChannel {
 public:
  virtual ~InvalidationChannel();

  /// Starts reporting to `listener`: tries to connect and register once,
  /// bounded by the connection's timeouts (so mode() is known when it
  /// returns, if the server answers), then keeps the channel up on its own
  /// thread. channel_ready() is called each time it is registered. Once.
  virtual void start(InvalidationListener& listener) = 0;
  /// Stops the thread and closes the connections; no listener call after it
  /// returns. Idempotent.
  virtual void stop() noexcept = 0;

  /// The mode in force (after a fallback: pubsub).
  virtual InvalidationMode mode() const noexcept = 0;
  /// Why that mode, e.g. "bcast (requested)" or "pubsub: CLIENT TRACKING
  /// refused (NOPERM ...), fell back".
  virtual std::string mode_reason() const = 0;
  /// True while registered and answering its heartbeat.
  virtual bool ready() const noexcept = 0;

  /// This process acknowledged writes of `keys`. pubsub mode publishes them
  /// (before returning); the server-assisted modes do nothing. Never throws.
  virtual void wrote(const std::vector<std::string_view>& keys) noexcept = 0;
  /// This process cleared the cache (all keys under the prefix). Never throws.
  virtual void cleared() noexcept = 0;

  /// For the end-to-end check (`cachet probe`): writes `value` under `key`
  /// on a connection of the channel's own, as another process would (pubsub:
  /// and publishes it, as another cachet process would). False and `error`
  /// when it could not.
  virtual bool write_from_outside(std::string_view key, std::string_view value, std::string& error) = 0;

 protected:
  InvalidationChannel() = default;
};

}  // namespace cachet
