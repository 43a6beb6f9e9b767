// Internal: the in-memory engine's clocks. now_ns() is steady_clock, the only
// clock deadlines are measured on; coarse_now_ns() is a cheaper lower bound of
// it (CLOCK_MONOTONIC_COARSE, read through the vDSO's entry point when one is
// found), and alive_at() decides expiry from a coarse reading where that is
// safe and from the precise clock otherwise.
//
// Thread-safe: the functions read the clocks and one pointer set during static
// initialisation, nothing else.
#pragma once

#include <cstdint>
#include <ctime>  // clock_gettime, CLOCK_MONOTONIC_COARSE (POSIX, via <time.h>)

namespace cachet::memory {

/// Nanoseconds on std::chrono::steady_clock (the cache's only clock).
std::int64_t now_ns() noexcept;

/// A clock_gettime: the vDSO's own entry point when one was found (called
/// directly, it skips glibc's wrapper: about 5.5 ns instead of 7 on this VM),
/// else libc's.
using ClockGettimeFn = int (*)(clockid_t, timespec*);

/// A clock reading in nanoseconds.
inline std::int64_t timespec_ns(const timespec& ts) noexcept {
  return static_cast<std::int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

/// The function that reads CLOCK_MONOTONIC_COARSE, or null when that clock was
/// not found at start-up to behave as a lower bound of steady_clock. A plain
/// global, so the hit path pays no guard for a function-local static; null
/// (the safe answer) until libcachet's static initialisation has run.
extern const ClockGettimeFn coarse_clock_gettime;

/// The vDSO's clock_gettime, looked up in the image the kernel maps into the
/// process; null where there is none (valgrind hides it) or on platforms
/// without the lookup. Used once at start-up; declared here for the tests.
ClockGettimeFn find_vdso_clock_gettime() noexcept;
/// The same, counting the symbols through DT_GNU_HASH even where DT_HASH
/// exists too (`ignore_sysv_hash`), so the tests cover both ways.
ClockGettimeFn find_vdso_clock_gettime(bool ignore_sysv_hash) noexcept;

/// A lower bound of now_ns() that lags it by about one timer tick, or 0 when
/// there is no such clock. About 5 ns (the vDSO reads a kernel variable)
/// against about 30 ns for now_ns() on this VM.
inline std::int64_t coarse_now_ns() noexcept {
#ifdef CLOCK_MONOTONIC_COARSE
  timespec ts{};
  const ClockGettimeFn read = coarse_clock_gettime;
  if (read == nullptr || read(CLOCK_MONOTONIC_COARSE, &ts) != 0) return 0;
  return timespec_ns(ts);
#else
  return 0;
#endif
}

inline constexpr std::int64_t kCoarseMargin = 2'000'000'000;  // 2 s

/// True when a deadline (0 = never) has not passed, given `coarse`, a reading
/// of coarse_now_ns() taken during the same operation. A deadline more than
/// kCoarseMargin past the coarse time is certainly in the future; otherwise
/// `precise_now()` decides. So an expired entry is never reported alive unless
/// the coarse clock lagged by more than the margin (a stall of the kernel's
/// timekeeping for seconds).
template <class PreciseNow>
bool alive_at(std::int64_t expires_ns, std::int64_t coarse, PreciseNow&& precise_now) noexcept {
  if (expires_ns == 0) return true;
  if (coarse != 0 && coarse < expires_ns - kCoarseMargin) return true;
  return precise_now() < expires_ns;
}

}  // namespace cachet::memory
