// Internal: the Redis InvalidationChannel (include/cachet/invalidation.hpp).
//
// A session is two connections of the channel's own, over the transport
// cachet owns (Connection: net::Stream + hiredis' reader):
//   subscriber  CLIENT ID, then SUBSCRIBE __redis__:invalidate (RESP2: the
//               server redirects tracking messages to it as pub/sub messages;
//               pubsub mode: "<prefix>__cachet_invalidate" instead). Read by
//               a poll-driven loop on the channel's thread: each wait is
//               bounded (Connection::receive_until) so heartbeats and stop()
//               are never late.
//   control     bcast: registers `CLIENT TRACKING on REDIRECT <id> BCAST
//               PREFIX <prefix>` — one registration for the whole process,
//               so one message per change whatever the pool size, and full
//               coverage from the moment the session is ready; pinged on
//               every heartbeat (its death ends the registration).
//               tracking: checks that CLIENT TRACKING is accepted, then
//               renews the TrackingSetup so that every data connection
//               registers itself; on every heartbeat CLIENT LIST ID checks
//               that the registered data connections still exist.
// A third, pooled connection publishes (pubsub mode) and performs the
// end-to-end check's outside write.
//
// Any failure ends the session (channel_lost); the thread reconnects with
// backoff (50 ms doubling up to the heartbeat) and reports channel_ready
// once registered again.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "cachet/invalidation.hpp"
#include "redis/pool.hpp"
#include "redis/tracking_setup.hpp"

namespace cachet::redis {

class RedisInvalidationChannel final : public InvalidationChannel {
 public:
  /// `settings` must not carry a ConnectionSetup (the channel's connections
  /// register nothing per connection). `setup` is the L2's, for tracking mode.
  RedisInvalidationChannel(Endpoint endpoint, ConnectionSettings settings, std::string prefix,
                           InvalidationOptions options, std::chrono::milliseconds pool_wait,
                           std::shared_ptr<TrackingSetup> setup);
  ~RedisInvalidationChannel() override;

  void start(InvalidationListener& listener) override;
  void stop() noexcept override;
  InvalidationMode mode() const noexcept override { return mode_.load(); }
  std::string mode_reason() const override;
  bool ready() const noexcept override { return ready_.load(); }
  void wrote(const std::vector<std::string_view>& keys) noexcept override;
  void cleared() noexcept override;
  bool write_from_outside(std::string_view key, std::string_view value, std::string& error) override;

 private:
  struct Session {
    std::unique_ptr<Connection> subscriber;
    std::unique_ptr<Connection> control;
    long long id = 0;
  };

  bool connect(std::string& why);
  bool subscribe(Session& s, std::string& why);
  bool register_tracking(Session& s, std::string& why, bool& refused);
  void run();
  /// Serves the session until it is lost (returns the reason) or stop().
  std::string serve();
  /// One heartbeat's checks on the control connection; "" when healthy.
  std::string check_control();
  void dispatch(const struct ::redisReply& reply, bool& pong);
  void on_message(const struct ::redisReply& payload);
  void publish(char kind, const std::vector<std::string_view>& keys, const std::string& sender) noexcept;
  void fall_back_to_pubsub(const std::string& why);
  void sleep_unless_stopped(std::chrono::milliseconds d);

  const Endpoint endpoint_;
  const ConnectionSettings settings_;
  const std::string prefix_;
  const InvalidationOptions options_;
  const std::string pubsub_channel_;
  const std::string sender_;  // identifies this process's own pubsub messages
  std::shared_ptr<TrackingSetup> setup_;
  Pool publisher_;

  std::atomic<InvalidationMode> mode_;
  mutable std::mutex reason_mu_;
  std::string reason_;  // guarded by reason_mu_

  InvalidationListener* listener_ = nullptr;
  Session session_;  // the channel's thread only (and start(), before it exists)
  std::atomic<bool> ready_{false};
  std::atomic<bool> stop_{false};
  std::mutex stop_mu_;
  std::thread thread_;
};

}  // namespace cachet::redis
