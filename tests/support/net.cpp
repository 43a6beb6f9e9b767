#include "support/net.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <stdexcept>
#include <vector>

namespace cachet::test {

namespace {

int bind_loopback(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) throw std::runtime_error("socket failed");
  int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    throw std::runtime_error("bind to 127.0.0.1:" + std::to_string(port) + " failed");
  }
  return fd;
}

int port_of(int fd) {
  sockaddr_in addr{};
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  return ntohs(addr.sin_port);
}

}  // namespace

int free_loopback_port() {
  int fd = bind_loopback(0);
  int port = port_of(fd);
  ::close(fd);
  return port;
}

FakeServer::FakeServer(Mode mode, int port) : mode_(mode) {
  listen_fd_ = bind_loopback(port);
  if (::listen(listen_fd_, 128) != 0) throw std::runtime_error("listen failed");
  port_ = port_of(listen_fd_);
  if (::pipe(wake_pipe_) != 0) throw std::runtime_error("pipe failed");
  thread_ = std::thread([this] { run(); });
}

FakeServer::~FakeServer() {
  char b = 1;
  if (::write(wake_pipe_[1], &b, 1) != 1) {
  }
  thread_.join();
  ::close(listen_fd_);
  ::close(wake_pipe_[0]);
  ::close(wake_pipe_[1]);
}

std::string FakeServer::url() const { return "redis://127.0.0.1:" + std::to_string(port_) + "/0"; }

void FakeServer::run() {
  std::vector<int> clients;
  for (;;) {
    std::vector<pollfd> fds;
    fds.push_back({wake_pipe_[0], POLLIN, 0});
    fds.push_back({listen_fd_, POLLIN, 0});
    for (int c : clients) fds.push_back({c, POLLIN, 0});
    if (::poll(fds.data(), fds.size(), 1000) < 0) continue;
    if (fds[0].revents) break;
    if (fds[1].revents & POLLIN) {
      int c = ::accept(listen_fd_, nullptr, nullptr);
      if (c >= 0) {
        clients.push_back(c);
        accepted_.fetch_add(1);
      }
    }
    for (size_t i = 2; i < fds.size(); ++i) {
      if (!(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      char buf[4096];
      ssize_t n = ::read(fds[i].fd, buf, sizeof buf);
      if (n <= 0) {
        ::close(fds[i].fd);
        clients.erase(std::find(clients.begin(), clients.end(), fds[i].fd));
        continue;
      }
      if (mode_ == Mode::Garbage) {
        static const char junk[] = "HTTP/1.1 400 Bad Request\r\n\r\n\x01\x02garbage";
        if (::write(fds[i].fd, junk, sizeof junk - 1) < 0) {
        }
      }
    }
  }
  for (int c : clients) ::close(c);
}

}  // namespace cachet::test
