// Internal: one connection to one Redis endpoint.
//
// Bytes travel over the transport cachet owns (src/net: plain TCP, unix
// socket or TLS); hiredis is only the RESP codec here: requests are encoded
// by Request, replies parsed by a redisReader fed from a reusable buffer. A
// command costs one write and (for a reply that fits the buffer) one read.
// Every failure is mapped once, in map_error. A connection that saw an I/O
// error, EOF, protocol error or timeout is marked broken and must be
// discarded: a timed-out command's late reply would otherwise be read as the
// next one's.
//
// Not thread-safe: a connection is used by one thread at a time (the pool
// hands it out through a Lease).
#pragma once

#include <array>
#include <chrono>
#include <memory>
#include <string>
#include <string_view>

#include "net/stream.hpp"
#include "redis/connection_setup.hpp"
#include "redis/error_map.hpp"
#include "redis/request.hpp"

struct redisReply;
struct redisReader;

namespace cachet::redis {

/// Where a server listens ("127.0.0.1:6379", "[::1]:6380" or a socket path).
using Endpoint = net::Endpoint;

/// How every connection to an endpoint is set up.
struct ConnectionSettings {
  std::string username;  ///< ACL user; empty = AUTH <password>
  std::string password;  ///< empty = no AUTH
  int db = 0;            ///< SELECT when != 0
  std::chrono::milliseconds connect_timeout{250};
  std::chrono::milliseconds socket_timeout{500};
  bool keepalive = true;
  /// The cache's TLS context; null = plaintext.
  std::shared_ptr<const net::TlsContext> tls;
  /// Commands run after AUTH/SELECT (connection_setup.hpp); null = none.
  std::shared_ptr<ConnectionSetup> setup;
};

struct ReplyDeleter {
  void operator()(redisReply* r) const noexcept;
};
/// A parsed reply; the command layer reads its fields (type, str/len, integer, elements).
using ReplyPtr = std::unique_ptr<redisReply, ReplyDeleter>;

class Connection {
 public:
  /// Connects (TCP or unix socket, then the TLS handshake when configured),
  /// and runs AUTH / SELECT, all within connect_timeout. Returns null and
  /// fills `failure` ("connection refused (127.0.0.1:6390)", "AUTH failed:
  /// WRONGPASS ...", "TLS: server certificate not trusted: ...").
  static std::unique_ptr<Connection> open(const Endpoint& endpoint, const ConnectionSettings& settings,
                                          Failure& failure);

  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  /// The connection's reusable command buffer.
  Request& request() noexcept { return request_; }

  /// Writes every command of `request` (one write; each wait for the socket
  /// bounded by socket_timeout). False with `failure` when the connection
  /// broke; the request can then be cleared.
  bool send(const Request& request, Failure& failure);

  /// Reads the next reply (error replies are replies), each wait bounded by
  /// socket_timeout. Null on an I/O error / EOF / protocol error / timeout:
  /// the connection is then broken and `failure` says why; `command` names
  /// the command in that message.
  ReplyPtr receive(Failure& failure, std::string_view command);

  /// For a connection that is sent replies it did not ask for (a subscriber):
  /// the next reply, waiting at most until `wait`'s deadline. Null with
  /// `timed_out` when nothing (complete) arrived by then: the connection stays
  /// usable and a partly received reply is kept. Null with `failure` (and the
  /// connection broken) on an I/O, EOF or protocol error.
  ReplyPtr receive_until(const net::Wait& wait, bool& timed_out, Failure& failure);

  /// Maps an error reply received on this connection (one place: map_error),
  /// and marks the connection broken when a fresh connection is the remedy.
  Failure reply_failure(const redisReply& reply, std::string_view command);

  /// Cheap liveness check before reuse (no command, never blocks): false when
  /// the peer closed the connection (e.g. the server restarted) or unexpected
  /// bytes are waiting.
  bool alive() noexcept;

  bool broken() const noexcept { return broken_; }
  void mark_broken() noexcept { broken_ = true; }

  const std::string& endpoint_name() const noexcept { return stream_->name(); }
  /// The ConnectionSetup generation this connection was set up under (0: none).
  std::uint64_t setup_generation() const noexcept { return setup_generation_; }
  /// Its CLIENT ID, when a ConnectionSetup asked for it (else 0).
  long long client_id() const noexcept { return client_id_; }
  /// The TLS version, cipher and server certificate (empty for plaintext).
  net::TlsInfo tls_info() const { return stream_->tls_info(); }

 private:
  struct ReaderDeleter {
    void operator()(redisReader* r) const noexcept;
  };

  Connection(std::unique_ptr<net::Stream> stream, std::chrono::milliseconds socket_timeout);
  bool handshake(const ConnectionSettings& settings, const net::Wait& wait, Failure& failure);
  bool run_setup(ConnectionSetup& setup, const net::Wait& wait, std::chrono::milliseconds timeout, Failure& failure);
  /// The next reply, reading as needed. Null with `error` (transport) or
  /// `reader_error` (hiredis' reader: protocol / out of memory) set.
  ReplyPtr read_reply(const net::Wait& wait, net::NetError& error, int& reader_error);
  Failure failure_of(Stage stage, std::string_view command, std::chrono::milliseconds timeout, net::NetError error,
                     int reader_error);

  std::unique_ptr<net::Stream> stream_;
  std::unique_ptr<redisReader, ReaderDeleter> reader_;
  std::chrono::milliseconds socket_timeout_;
  Request request_;
  bool broken_ = false;
  std::uint64_t setup_generation_ = 0;
  long long client_id_ = 0;
  bool answered_ = false;             // a reply arrived: the peer speaks RESP
  unsigned char first_bytes_[2] = {};  // the first bytes received, to recognise a TLS peer
  std::size_t first_len_ = 0;
  std::array<char, 16384> buf_;  // what one read() takes in before it is fed to the reader
};

}  // namespace cachet::redis
