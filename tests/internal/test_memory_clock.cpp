// The in-memory engine's clocks (src/memory/clock.hpp): the coarse clock that
// every get with a TTL reads must be a lower bound of steady_clock that lags
// it only a little, and the vDSO entry point it is read through must be the
// kernel's real clock_gettime. Built from the engine's source directly (these
// are internal symbols, hidden in the shared library).
#include <gtest/gtest.h>

#include <cstdint>
#include <ctime>

#include "memory/clock.hpp"

#if defined(__linux__)
#include <sys/auxv.h>
#endif

namespace cachet::memory {
namespace {

TEST(MemoryClock, VdsoEntryPointAgreesWithLibc) {
#if defined(__linux__) && (defined(__x86_64__) || defined(__aarch64__))
  if (getauxval(AT_SYSINFO_EHDR) == 0) GTEST_SKIP() << "no vDSO mapped (valgrind hides it)";
  const ClockGettimeFn vdso = find_vdso_clock_gettime();
  ASSERT_NE(vdso, nullptr) << "a vDSO is mapped but its clock_gettime was not found";
  // Counting the symbols through DT_GNU_HASH finds the same entry point (the
  // kernels here ship both tables; some ship only one).
  EXPECT_EQ(find_vdso_clock_gettime(true), vdso);
  // The same clock read through libc, the vDSO and libc again: the middle
  // reading lies between the other two, for the monotonic clocks (one that
  // cannot be stepped, the coarse one SimpleCache reads, and boot time).
  for (clockid_t id : {CLOCK_MONOTONIC, CLOCK_MONOTONIC_COARSE, CLOCK_BOOTTIME}) {
    for (int i = 0; i < 1000; ++i) {
      timespec a{};
      timespec b{};
      timespec c{};
      ASSERT_EQ(clock_gettime(id, &a), 0);
      ASSERT_EQ(vdso(id, &b), 0);
      ASSERT_EQ(clock_gettime(id, &c), 0);
      ASSERT_LE(timespec_ns(a), timespec_ns(b)) << "clock " << id << " reading " << i;
      ASSERT_LE(timespec_ns(b), timespec_ns(c)) << "clock " << id << " reading " << i;
    }
  }
  // An unknown clock id is refused, as by libc. (Not a negative one: those
  // name the CPU clocks of processes and threads.)
  timespec ts{};
  EXPECT_NE(vdso(static_cast<clockid_t>(1000), &ts), 0);
#else
  EXPECT_EQ(find_vdso_clock_gettime(), nullptr);
#endif
}

TEST(MemoryClock, CoarseIsALowerBoundOfSteadyThatLagsLittle) {
#if defined(__linux__) && defined(CLOCK_MONOTONIC_COARSE)
  ASSERT_NE(coarse_clock_gettime, nullptr) << "Linux has CLOCK_MONOTONIC_COARSE; the start-up check refused it";
  if (getauxval(AT_SYSINFO_EHDR) != 0) {
    EXPECT_EQ(coarse_clock_gettime, find_vdso_clock_gettime()) << "the vDSO entry point is there but not used";
  }
#endif
  if (coarse_clock_gettime == nullptr) {
    EXPECT_EQ(coarse_now_ns(), 0);
    return;
  }
  std::int64_t last = 0;
  for (int i = 0; i < 200'000; ++i) {
    const std::int64_t before = now_ns();
    const std::int64_t coarse = coarse_now_ns();
    const std::int64_t after = now_ns();
    ASSERT_GT(coarse, 0);
    ASSERT_LE(coarse, after) << "the coarse clock ran ahead of steady_clock at reading " << i;
    // SimpleCache trusts it to lag by less than kCoarseMargin (2 s); a tick is 1-10 ms.
    ASSERT_GT(coarse, before - kCoarseMargin / 2) << "the coarse clock lagged by " << (before - coarse) << " ns";
    ASSERT_GE(coarse, last) << "the coarse clock went backwards at reading " << i;
    last = coarse;
  }
}

TEST(MemoryClock, AliveAtNeverTrustsACoarseReadingNearTheDeadline) {
  // Within the margin, the precise clock decides; far from it, the coarse one.
  int precise_reads = 0;
  auto precise = [&precise_reads] {
    ++precise_reads;
    return std::int64_t{10'000'000'000};
  };
  EXPECT_TRUE(alive_at(0, 1, precise));                                     // no deadline
  EXPECT_TRUE(alive_at(5'000'000'000 + kCoarseMargin + 1, 5'000'000'000, precise));  // far ahead
  EXPECT_EQ(precise_reads, 0);
  EXPECT_FALSE(alive_at(9'000'000'000, 8'000'000'000, precise));  // coarse says 1 s left, precise says gone
  EXPECT_TRUE(alive_at(11'000'000'000, 10'000'000'000, precise));
  EXPECT_FALSE(alive_at(10'000'000'000, 0, precise));  // no coarse clock: precise only; deadline == now is expired
  EXPECT_EQ(precise_reads, 3);
}

}  // namespace
}  // namespace cachet::memory
