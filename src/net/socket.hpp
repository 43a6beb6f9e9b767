// Internal: a connected TCP or unix stream socket that cachet owns.
//
// connect() resolves the host (getaddrinfo: IPv4 and IPv6, every address in
// turn), connects without blocking and waits with poll() until the deadline,
// then sets TCP_NODELAY and keepalive the way hiredis does. After connecting
// the descriptor is in blocking mode with SO_RCVTIMEO / SO_SNDTIMEO set to
// the io_timeout, so a Wait::per_wait() read or write is a single syscall;
// Wait::until() operations pass MSG_DONTWAIT and poll (see wait.hpp).
// Writes never raise SIGPIPE (MSG_NOSIGNAL).
//
// Host name resolution is not bounded by the deadline (getaddrinfo has no
// timeout); an IP address or a name in /etc/hosts resolves without the network.
//
// Not thread-safe; one owner at a time. Move-only; the destructor closes.
#pragma once

#include <sys/socket.h>
#include <sys/types.h>

#include <chrono>
#include <cstddef>
#include <string>

#include "net/error.hpp"
#include "net/wait.hpp"

namespace cachet::net {

/// Where a server listens.
struct Endpoint {
  std::string host;         ///< when unix_socket is empty
  int port = 6379;          ///< when unix_socket is empty
  std::string unix_socket;  ///< path; takes precedence

  /// "127.0.0.1:6379", "[::1]:6380" or the socket path; used in messages.
  std::string describe() const;
  bool is_unix() const noexcept { return !unix_socket.empty(); }
};

struct SocketOptions {
  /// TCP keepalive (idle 15 s, then 3 probes 5 s apart, as hiredis). Ignored for unix sockets.
  bool keepalive = true;
  /// Bound on each wait of a Wait::per_wait() read or write.
  std::chrono::milliseconds io_timeout{500};
};

class Socket {
 public:
  Socket() noexcept = default;
  ~Socket();
  Socket(Socket&& other) noexcept;
  Socket& operator=(Socket&& other) noexcept;
  Socket(const Socket&) = delete;
  Socket& operator=(const Socket&) = delete;

  /// Connects to `endpoint` within `wait` (which must have a deadline). An
  /// invalid Socket and `error` (refused, connect_timeout, resolve, ...) on failure.
  static Socket connect(const Endpoint& endpoint, const SocketOptions& options, const Wait& wait, NetError& error);

  bool valid() const noexcept { return fd_ >= 0; }
  int fd() const noexcept { return fd_; }
  /// The endpoint as described in messages.
  const std::string& name() const noexcept { return name_; }
  std::chrono::milliseconds io_timeout() const noexcept { return io_timeout_; }

  /// Changes the per-wait bound of Wait::per_wait() operations.
  bool set_io_timeout(std::chrono::milliseconds timeout, NetError& error);

  /// One recv / send: > 0 bytes moved, 0 = EOF (recv only), -1 with errno set
  /// (EAGAIN/EWOULDBLOCK: nothing ready with `dont_wait`, or the io_timeout
  /// passed without it). EINTR is retried.
  ssize_t recv_once(void* buf, std::size_t cap, bool dont_wait) noexcept;
  ssize_t send_once(const void* buf, std::size_t len, bool dont_wait) noexcept;

  /// poll() for `events` (POLLIN / POLLOUT) until `wait`'s deadline:
  /// 1 ready (including error / hang-up), 0 timed out, -1 poll failed (errno).
  int poll_for(short events, const Wait& wait) const noexcept;

  /// Reads at least one byte into buf (at most cap). Returns the count, or 0
  /// with `error` set (closed, reset, timeout, io).
  std::size_t read_some(char* buf, std::size_t cap, const Wait& wait, NetError& error);
  /// Writes all of data. False with `error` set.
  bool write_all(const char* data, std::size_t len, const Wait& wait, NetError& error);

  /// Without blocking: true when the connection is open and no byte is
  /// waiting (a peer that closed, or sent something unasked, makes it false).
  bool idle_and_open() const noexcept;

  /// The error for a failed recv/send (`n` its return value, `err` its errno)
  /// or for a wait that ran out; `op` is "reading" or "writing".
  NetError io_error(ssize_t n, int err, const char* op) const;

  /// The connected peer's address, so a probe can open a second connection.
  const sockaddr_storage& peer_address() const noexcept { return peer_; }
  socklen_t peer_address_len() const noexcept { return peer_len_; }

  /// Connects a fresh socket to a known address within `wait` (probes).
  static Socket connect_address(const sockaddr* addr, socklen_t len, const std::string& name, const Wait& wait,
                                NetError& error);

 private:
  Socket(int fd, std::string name) noexcept : fd_(fd), name_(std::move(name)) {}
  void close() noexcept;

  int fd_ = -1;
  std::string name_;
  std::chrono::milliseconds io_timeout_{0};
  sockaddr_storage peer_{};
  socklen_t peer_len_ = 0;
};

}  // namespace cachet::net
