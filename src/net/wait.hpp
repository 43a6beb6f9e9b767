// Internal: how long a transport operation may wait for the peer.
//
// Two disciplines, chosen per call:
//   Wait::until(t)   an absolute deadline, enforced with poll(): connecting,
//                    the TLS handshake, AUTH/SELECT, and owners that wait for
//                    unsolicited data (pub/sub, an event loop).
//   Wait::per_wait() each wait bounded by the socket's io_timeout, enforced by
//                    the kernel (SO_RCVTIMEO / SO_SNDTIMEO): the synchronous
//                    command path, where it saves the poll() before every read
//                    (one write + one read syscall per command, like hiredis;
//                    a poll costs about 8% of a loopback GET here).
// Both bound every wait; neither ever waits forever.
#pragma once

#include <chrono>

namespace cachet::net {

using Clock = std::chrono::steady_clock;

class Wait {
 public:
  static Wait until(Clock::time_point deadline) noexcept { return Wait(deadline, true); }
  static Wait per_wait() noexcept { return Wait(Clock::time_point{}, false); }

  bool has_deadline() const noexcept { return has_deadline_; }
  Clock::time_point deadline() const noexcept { return deadline_; }

  /// Milliseconds left for poll(): 0 when the deadline has passed (poll then
  /// only reports what is ready now). Rounded up, so a wait never ends early.
  int poll_ms() const noexcept {
    const auto left = deadline_ - Clock::now();
    if (left <= Clock::duration::zero()) return 0;
    const auto ms = std::chrono::ceil<std::chrono::milliseconds>(left).count();
    return ms > 86'400'000 ? 86'400'000 : static_cast<int>(ms);
  }
  bool expired() const noexcept { return has_deadline_ && Clock::now() >= deadline_; }

 private:
  Wait(Clock::time_point deadline, bool has_deadline) noexcept : deadline_(deadline), has_deadline_(has_deadline) {}
  Clock::time_point deadline_;
  bool has_deadline_;
};

}  // namespace cachet::net
