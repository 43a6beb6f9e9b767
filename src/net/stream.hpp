// Internal: one byte stream to a server — plain TCP, unix socket or TLS —
// behind one small interface. What it carries (RESP) is not its business:
// formatting requests and parsing replies live above it, and waiting is
// explicit (Wait), so the same stream serves a synchronous request/reply
// connection, a subscriber waiting for pushed messages, or an event loop.
//
// The branch between plain and TLS is taken once per read or write call, not
// per byte. A stream that reported an error must be discarded.
//
// Not thread-safe: one owner at a time. Not movable (the TLS layer points at
// the socket); held by unique_ptr.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>

#include "net/error.hpp"
#include "net/socket.hpp"
#include "net/tls.hpp"
#include "net/wait.hpp"

namespace cachet::net {

class Stream {
 public:
  /// Connects to `endpoint` and, with a `tls` context, runs the TLS handshake,
  /// all within `wait` (a deadline). Null and `error` on failure. TLS over a
  /// unix socket is refused (Cause::connect_failed).
  static std::unique_ptr<Stream> open(const Endpoint& endpoint, const SocketOptions& options, const TlsContext* tls,
                                      const Wait& wait, NetError& error);
  ~Stream();
  Stream(const Stream&) = delete;
  Stream& operator=(const Stream&) = delete;

  /// Reads at least one byte (at most cap). The count, or 0 with `error` set.
  std::size_t read_some(char* buf, std::size_t cap, const Wait& wait, NetError& error) {
    return tls_ ? tls_->read_some(buf, cap, wait, error) : socket_.read_some(buf, cap, wait, error);
  }
  /// Writes all of data. False with `error` set.
  bool write_all(const char* data, std::size_t len, const Wait& wait, NetError& error) {
    return tls_ ? tls_->write_all(data, len, wait, error) : socket_.write_all(data, len, wait, error);
  }

  /// Waits until read_some() would not wait: bytes buffered in TLS, bytes on
  /// the socket, or the peer closed. False with `error` (Cause::timeout) when
  /// the deadline passes first (Wait::per_wait(): the io_timeout).
  bool wait_readable(const Wait& wait, NetError& error);

  /// Without blocking: open, and no byte waiting that nobody asked for.
  bool idle_and_open() noexcept { return tls_ ? tls_->idle_and_open() : socket_.idle_and_open(); }

  /// Changes the per-wait bound of Wait::per_wait() reads and writes.
  bool set_io_timeout(std::chrono::milliseconds timeout, NetError& error) {
    return socket_.set_io_timeout(timeout, error);
  }

  bool is_tls() const noexcept { return tls_ != nullptr; }
  /// The negotiated TLS version, cipher and server certificate; empty fields for plain streams.
  TlsInfo tls_info() const { return tls_ ? tls_->info() : TlsInfo{}; }
  /// The endpoint as named in messages.
  const std::string& name() const noexcept { return socket_.name(); }

  /// For a plaintext stream that failed before any reply (reset, closed):
  /// asks on a second connection whether the server speaks TLS, within `wait`.
  bool peer_speaks_tls(const Wait& wait) const;

 private:
  explicit Stream(Socket socket) noexcept : socket_(std::move(socket)) {}

  Socket socket_;
  std::unique_ptr<TlsSession> tls_;
};

}  // namespace cachet::net
