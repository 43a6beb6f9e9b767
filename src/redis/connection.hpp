// Internal: one connection to one Redis endpoint.
//
// This is the only class that touches a hiredis redisContext (connect, socket
// options, sending, reading replies), so the transport can be replaced (own
// sockets + redisReader, TLS) without touching the command layer. A connection
// that saw an I/O error, EOF, protocol error or timeout is marked broken and
// must be discarded: hiredis contexts are unusable after an error, and a
// timed-out command's late reply would otherwise be read as the next one's.
//
// Not thread-safe: a connection is used by one thread at a time (the pool
// hands it out through a Lease).
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <string_view>

#include "redis/error_map.hpp"
#include "redis/request.hpp"

struct redisContext;
struct redisReply;

namespace cachet::redis {

/// Where a server listens.
struct Endpoint {
  std::string host;         ///< when unix_socket is empty
  int port = 6379;          ///< when unix_socket is empty
  std::string unix_socket;  ///< path; takes precedence

  /// "127.0.0.1:6379", "[::1]:6380" or the socket path; used in messages.
  std::string describe() const;
};

/// How every connection to an endpoint is set up.
struct ConnectionSettings {
  std::string username;  ///< ACL user; empty = AUTH <password>
  std::string password;  ///< empty = no AUTH
  int db = 0;            ///< SELECT when != 0
  std::chrono::milliseconds connect_timeout{250};
  std::chrono::milliseconds socket_timeout{500};
  bool keepalive = true;
};

struct ReplyDeleter {
  void operator()(redisReply* r) const noexcept;
};
/// A parsed reply; the command layer reads its fields (type, str/len, integer, elements).
using ReplyPtr = std::unique_ptr<redisReply, ReplyDeleter>;

class Connection {
 public:
  /// Connects, enables keepalive, sets the socket timeout, and runs AUTH /
  /// SELECT, all within connect_timeout. Returns null and fills `failure`
  /// ("connection refused (127.0.0.1:6390)", "AUTH failed: WRONGPASS ...").
  static std::unique_ptr<Connection> open(const Endpoint& endpoint, const ConnectionSettings& settings,
                                          Failure& failure);

  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  /// The connection's reusable command buffer.
  Request& request() noexcept { return request_; }

  /// Queues every command of `request` for sending (nothing is written until
  /// the first receive()). False (broken) only when hiredis cannot buffer it.
  bool send(const Request& request, Failure& failure);

  /// Flushes pending commands and reads the next reply (error replies are
  /// replies). Null on an I/O error / EOF / protocol error / timeout: the
  /// connection is then broken and `failure` says why; `command` names the
  /// command in that message.
  ReplyPtr receive(Failure& failure, std::string_view command);

  /// Maps an error reply received on this connection (one place: map_error),
  /// and marks the connection broken when a fresh connection is the remedy.
  Failure reply_failure(const redisReply& reply, std::string_view command);

  /// Cheap liveness check before reuse (one non-blocking peek, no command):
  /// false when the peer closed the connection (e.g. the server restarted) or
  /// unexpected bytes are waiting.
  bool alive() const noexcept;

  bool broken() const noexcept { return broken_; }
  void mark_broken() noexcept { broken_ = true; }

  const std::string& endpoint_name() const noexcept { return endpoint_name_; }

 private:
  struct ContextDeleter {
    void operator()(redisContext* c) const noexcept;
  };
  using ContextPtr = std::unique_ptr<redisContext, ContextDeleter>;

  Connection(ContextPtr context, std::string endpoint_name, std::chrono::milliseconds socket_timeout);
  bool handshake(const ConnectionSettings& settings, std::chrono::steady_clock::time_point deadline,
                 Failure& failure);
  bool set_timeout(std::chrono::milliseconds timeout);
  Failure io_failure(Stage stage, std::string_view command, std::chrono::milliseconds timeout, int saved_errno);

  ContextPtr context_;
  std::string endpoint_name_;
  std::chrono::milliseconds socket_timeout_;
  Request request_;
  bool broken_ = false;
};

}  // namespace cachet::redis
