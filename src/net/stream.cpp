#include "net/stream.hpp"

#include <poll.h>

#include <cerrno>

#include "net/probe.hpp"

namespace cachet::net {

Stream::~Stream() = default;

std::unique_ptr<Stream> Stream::open(const Endpoint& endpoint, const SocketOptions& options, const TlsContext* tls,
                                     const Wait& wait, NetError& error) {
  if (tls != nullptr && endpoint.is_unix()) {
    error = make_error(Cause::connect_failed, "TLS over a unix socket is not supported", 0, endpoint.describe());
    return nullptr;
  }
  Socket socket = Socket::connect(endpoint, options, wait, error);
  if (!socket.valid()) return nullptr;
  std::unique_ptr<Stream> stream(new Stream(std::move(socket)));
  if (tls != nullptr) {
    stream->tls_ = TlsSession::handshake(stream->socket_, *tls, endpoint.host, wait, error);
    if (!stream->tls_) return nullptr;
  }
  return stream;
}

bool Stream::wait_readable(const Wait& wait, NetError& error) {
  if (tls_ && tls_->has_buffered()) return true;
  const int r = socket_.poll_for(
      POLLIN, wait.has_deadline() ? wait : Wait::until(Clock::now() + socket_.io_timeout()));
  if (r > 0) return true;
  error = r == 0 ? make_error(Cause::timeout, "timed out waiting for data", 0, socket_.name())
                 : make_error(Cause::io, "poll failed", errno, socket_.name());
  return false;
}

bool Stream::peer_speaks_tls(const Wait& wait) const { return !tls_ && answers_tls(socket_, wait); }

}  // namespace cachet::net
