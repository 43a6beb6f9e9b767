// SpinLock's slow path: bounded spinning, then yields, then short sleeps.
#include "memory/spin_lock.hpp"

#include <chrono>
#include <thread>

namespace cachet::memory {

namespace {

inline void cpu_relax() noexcept {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield" ::: "memory");
#endif
}

}  // namespace

void SpinLock::lock_contended() noexcept {
  // About 10 us of spinning at most (a pause is 10-140 cycles), then a few
  // yields, then short sleeps: a waiter never burns a core for long.
  constexpr int kSpins = 128;
  constexpr int kYields = 16;
  for (int round = 0;; ++round) {
    for (int i = 0; i < kSpins; ++i) {
      if (!locked_.load(std::memory_order_relaxed) && !locked_.exchange(true, std::memory_order_acquire)) return;
      cpu_relax();
    }
    if (round < kYields) {
      std::this_thread::yield();
    } else {
      std::this_thread::sleep_for(std::chrono::microseconds(50));
    }
  }
}

}  // namespace cachet::memory
