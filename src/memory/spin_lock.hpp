// Internal: the lock of a SimpleCache shard. Thread-safe, as a lock must be;
// BasicLockable and Lockable, so std::lock_guard and std::unique_lock take it.
#pragma once

#include <atomic>

namespace cachet::memory {

/// A test-and-test-and-set spin lock. Shard critical sections are tens of
/// nanoseconds; with std::mutex a waiter went to sleep in the kernel and the
/// holder paid a futex wake-up on unlock (microseconds), which is what kept
/// SimpleCache from scaling to two threads. Uncontended, lock is one atomic
/// exchange and unlock a plain release store. A waiter spins on a read (so the
/// line is not bounced while it waits), then yields, then sleeps, so a holder
/// that was preempted, or a long critical section (clear(), an index rehash),
/// does not burn a core.
class SpinLock {
 public:
  void lock() noexcept {
    if (!locked_.exchange(true, std::memory_order_acquire)) return;
    lock_contended();
  }
  bool try_lock() noexcept {
    return !locked_.load(std::memory_order_relaxed) && !locked_.exchange(true, std::memory_order_acquire);
  }
  void unlock() noexcept { locked_.store(false, std::memory_order_release); }

 private:
  // Out of line: keeps the inlined lock() small on the uncontended path.
  void lock_contended() noexcept;
  std::atomic<bool> locked_{false};
};

}  // namespace cachet::memory
