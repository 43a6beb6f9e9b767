#include "net/socket.hpp"

#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <thread>
#include <utility>

namespace cachet::net {

namespace {

// hiredis' keepalive: first probe after 15 s idle, then every 5 s, 3 probes.
constexpr int kKeepIdleSeconds = 15;
constexpr int kKeepIntervalSeconds = 5;
constexpr int kKeepCount = 3;

bool set_int_option(int fd, int level, int name, int value) {
  return ::setsockopt(fd, level, name, &value, sizeof value) == 0;
}

bool set_blocking(int fd) {
  const int flags = ::fcntl(fd, F_GETFL);
  return flags >= 0 && ::fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) == 0;
}

timeval to_timeval(std::chrono::milliseconds ms) {
  if (ms.count() < 1) ms = std::chrono::milliseconds(1);
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(ms.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>((ms.count() % 1000) * 1000);
  return tv;
}

// Waits for a non-blocking connect() to finish. 0 on success, else an errno
// (ETIMEDOUT when the deadline passed).
int finish_connect(int fd, const Wait& wait) {
  pollfd p{fd, POLLOUT, 0};
  for (;;) {
    const int r = ::poll(&p, 1, wait.poll_ms());
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return errno;
    if (r == 0) return ETIMEDOUT;
    int err = 0;
    socklen_t len = sizeof err;
    if (::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) return errno;
    return err;
  }
}

Cause connect_cause(int err) {
  switch (err) {
    case ETIMEDOUT: return Cause::connect_timeout;
    case ECONNREFUSED:
    case ENOENT: return Cause::refused;
    default: return Cause::connect_failed;
  }
}

NetError connect_error(int err, const std::string& name, std::chrono::milliseconds budget) {
  if (err == ETIMEDOUT) {
    return make_error(Cause::connect_timeout, "connect timeout after " + std::to_string(budget.count()) + " ms", 0,
                      name);
  }
  if (err == ECONNREFUSED) return make_error(Cause::refused, "connection refused", 0, name);
  if (err == ENOENT) return make_error(Cause::refused, "connection refused", ENOENT, name);  // no unix socket there
  return make_error(connect_cause(err), "cannot connect", err, name);
}

std::chrono::milliseconds budget_of(const Wait& wait) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(wait.deadline() - Clock::now());
}

}  // namespace

std::string Endpoint::describe() const {
  if (!unix_socket.empty()) return unix_socket;
  if (host.find(':') != std::string::npos) return "[" + host + "]:" + std::to_string(port);
  return host + ":" + std::to_string(port);
}

Socket::~Socket() { close(); }

Socket::Socket(Socket&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)),
      name_(std::move(other.name_)),
      io_timeout_(other.io_timeout_),
      peer_(other.peer_),
      peer_len_(other.peer_len_) {}

Socket& Socket::operator=(Socket&& other) noexcept {
  if (this != &other) {
    close();
    fd_ = std::exchange(other.fd_, -1);
    name_ = std::move(other.name_);
    io_timeout_ = other.io_timeout_;
    peer_ = other.peer_;
    peer_len_ = other.peer_len_;
  }
  return *this;
}

void Socket::close() noexcept {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

Socket Socket::connect_address(const sockaddr* addr, socklen_t len, const std::string& name, const Wait& wait,
                               NetError& error) {
  const auto budget = budget_of(wait);
  Socket s(::socket(addr->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0), name);
  if (!s.valid()) {
    error = make_error(Cause::connect_failed, "cannot create a socket", errno, name);
    return {};
  }
  int err = 0;
  for (;;) {
    if (::connect(s.fd_, addr, len) == 0) break;
    err = errno;
    if (err == EINTR) continue;
    if (err == EINPROGRESS) {
      err = finish_connect(s.fd_, wait);
    } else if (err == EAGAIN && addr->sa_family == AF_UNIX) {
      // A unix socket whose accept backlog is full: retry until the deadline.
      if (wait.expired()) {
        err = ETIMEDOUT;
      } else {
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
        continue;
      }
    }
    break;
  }
  if (err != 0) {
    error = connect_error(err, name, budget);
    return {};
  }
  std::memcpy(&s.peer_, addr, len);
  s.peer_len_ = len;
  return s;
}

Socket Socket::connect(const Endpoint& endpoint, const SocketOptions& options, const Wait& wait, NetError& error) {
  const std::string name = endpoint.describe();
  Socket s;
  if (endpoint.is_unix()) {
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    if (endpoint.unix_socket.size() >= sizeof addr.sun_path) {
      error = make_error(Cause::connect_failed, "unix socket path too long", 0, name);
      return {};
    }
    std::memcpy(addr.sun_path, endpoint.unix_socket.c_str(), endpoint.unix_socket.size() + 1);
    s = connect_address(reinterpret_cast<const sockaddr*>(&addr), sizeof addr, name, wait, error);
  } else {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* found = nullptr;
    const std::string port = std::to_string(endpoint.port);
    const int rc = ::getaddrinfo(endpoint.host.c_str(), port.c_str(), &hints, &found);
    if (rc != 0) {
      error = make_error(Cause::resolve, std::string("cannot resolve host name: ") + ::gai_strerror(rc), 0, name);
      return {};
    }
    // Every address in turn (localhost: ::1 then 127.0.0.1) while time is left.
    for (const addrinfo* ai = found; ai != nullptr; ai = ai->ai_next) {
      error = NetError{};
      s = connect_address(ai->ai_addr, ai->ai_addrlen, name, wait, error);
      if (s.valid() || error.cause == Cause::connect_timeout) break;
    }
    ::freeaddrinfo(found);
  }
  if (!s.valid()) return {};

  bool ok = set_blocking(s.fd_);
  if (!endpoint.is_unix()) {
    ok = ok && set_int_option(s.fd_, IPPROTO_TCP, TCP_NODELAY, 1);
    if (options.keepalive) {
      ok = ok && set_int_option(s.fd_, SOL_SOCKET, SO_KEEPALIVE, 1) &&
           set_int_option(s.fd_, IPPROTO_TCP, TCP_KEEPIDLE, kKeepIdleSeconds) &&
           set_int_option(s.fd_, IPPROTO_TCP, TCP_KEEPINTVL, kKeepIntervalSeconds) &&
           set_int_option(s.fd_, IPPROTO_TCP, TCP_KEEPCNT, kKeepCount);
    }
  }
  if (!ok) {
    error = make_error(Cause::connect_failed, "cannot set socket options", errno, name);
    return {};
  }
  if (!s.set_io_timeout(options.io_timeout, error)) return {};
  return s;
}

bool Socket::set_io_timeout(std::chrono::milliseconds timeout, NetError& error) {
  const timeval tv = to_timeval(timeout);
  if (::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) != 0 ||
      ::setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv) != 0) {
    error = make_error(Cause::io, "cannot set the socket timeout", errno, name_);
    return false;
  }
  io_timeout_ = timeout;
  return true;
}

ssize_t Socket::recv_once(void* buf, std::size_t cap, bool dont_wait) noexcept {
  ssize_t n;
  do {
    n = ::recv(fd_, buf, cap, dont_wait ? MSG_DONTWAIT : 0);
  } while (n < 0 && errno == EINTR);
  return n;
}

ssize_t Socket::send_once(const void* buf, std::size_t len, bool dont_wait) noexcept {
  ssize_t n;
  do {
    n = ::send(fd_, buf, len, MSG_NOSIGNAL | (dont_wait ? MSG_DONTWAIT : 0));
  } while (n < 0 && errno == EINTR);
  return n;
}

int Socket::poll_for(short events, const Wait& wait) const noexcept {
  pollfd p{fd_, events, 0};
  for (;;) {
    const int r = ::poll(&p, 1, wait.poll_ms());
    if (r < 0 && errno == EINTR) continue;
    return r;
  }
}

NetError Socket::io_error(ssize_t n, int err, const char* op) const {
  if (n == 0) return make_error(Cause::closed, "connection closed by the server", 0, name_);
  if (err == EAGAIN || err == EWOULDBLOCK || err == ETIMEDOUT) {
    return make_error(Cause::timeout, std::string("timed out ") + op, 0, name_);
  }
  if (err == ECONNRESET || err == EPIPE) {
    return make_error(Cause::reset, "connection reset by the server", 0, name_);
  }
  return make_error(Cause::io, std::string("I/O error ") + op, err, name_);
}

std::size_t Socket::read_some(char* buf, std::size_t cap, const Wait& wait, NetError& error) {
  for (;;) {
    const ssize_t n = recv_once(buf, cap, wait.has_deadline());
    if (n > 0) return static_cast<std::size_t>(n);
    const int err = errno;
    if (n < 0 && wait.has_deadline() && (err == EAGAIN || err == EWOULDBLOCK)) {
      const int r = poll_for(POLLIN, wait);
      if (r > 0) continue;
      error = io_error(-1, r == 0 ? ETIMEDOUT : errno, "reading");
      return 0;
    }
    error = io_error(n, err, "reading");
    return 0;
  }
}

bool Socket::write_all(const char* data, std::size_t len, const Wait& wait, NetError& error) {
  while (len > 0) {
    const ssize_t n = send_once(data, len, wait.has_deadline());
    if (n > 0) {
      data += n;
      len -= static_cast<std::size_t>(n);
      continue;
    }
    const int err = errno;
    if (n < 0 && wait.has_deadline() && (err == EAGAIN || err == EWOULDBLOCK)) {
      const int r = poll_for(POLLOUT, wait);
      if (r > 0) continue;
      error = io_error(-1, r == 0 ? ETIMEDOUT : errno, "writing");
      return false;
    }
    error = io_error(n < 0 ? -1 : 1, err, "writing");
    return false;
  }
  return true;
}

bool Socket::idle_and_open() const noexcept {
  if (fd_ < 0) return false;
  char byte;
  ssize_t n;
  do {
    n = ::recv(fd_, &byte, 1, MSG_PEEK | MSG_DONTWAIT);
  } while (n < 0 && errno == EINTR);
  if (n < 0) return errno == EAGAIN || errno == EWOULDBLOCK;
  return false;  // 0: the peer closed; > 0: bytes nobody asked for
}

}  // namespace cachet::net
