// Test harness: loopback-only network helpers for failure scenarios.
#pragma once

#include <atomic>
#include <string>
#include <thread>

namespace cachet::test {

/// A loopback TCP port that was free a moment ago (bind 127.0.0.1:0, close).
int free_loopback_port();

/// A listener on 127.0.0.1 that accepts connections and either never answers
/// (BlackHole) or answers every read with bytes that are not RESP (Garbage).
/// Stops and closes every connection in its destructor.
class FakeServer {
 public:
  enum class Mode { BlackHole, Garbage };
  explicit FakeServer(Mode mode, int port = 0);
  ~FakeServer();
  FakeServer(const FakeServer&) = delete;
  FakeServer& operator=(const FakeServer&) = delete;

  int port() const { return port_; }
  /// redis://127.0.0.1:<port>/0
  std::string url() const;
  int connections_accepted() const { return accepted_.load(); }

 private:
  void run();
  Mode mode_;
  int port_ = 0;
  int listen_fd_ = -1;
  int wake_pipe_[2] = {-1, -1};
  std::atomic<int> accepted_{0};
  std::thread thread_;
};

}  // namespace cachet::test
