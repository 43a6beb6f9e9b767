// Counting heap allocations in cachet_bench: how many times malloc, calloc and
// realloc are called (operator new calls malloc, and so does hiredis) while a
// count is running. Used to check that RedisCache makes no allocation the raw
// hiredis loop does not make, and that a SimpleCache hit allocates only the
// returned value. glibc only, and not in sanitizer builds (the sanitizers
// define malloc themselves); available() says whether counting works. glibc's
// own callers (strdup, fopen, ...) reach malloc through its PLT and are
// counted too; aligned allocations (aligned operator new, aligned_alloc,
// posix_memalign, memalign, valloc) are not, and nothing on the paths counted
// here makes one.
#pragma once

#include <cstdint>
#include <limits>

namespace cachet::bench::allocs {

/// True when this build counts allocations.
bool available() noexcept;

/// Calls of malloc/calloc/realloc by any thread since the process started,
/// counted only while counting() is on (off by default, so timed runs pay one
/// relaxed load per allocation and nothing else).
void set_counting(bool on) noexcept;
std::uint64_t count() noexcept;

/// Allocations per call of `op(i)` for i in [0, n), after `warm` calls not
/// counted. `op` returns whether the call did what is being counted (a get
/// that hit, a set that stored); if any call did not, the result is
/// infinity, so that a check of the form "at most k" fails instead of
/// passing on a path that allocated nothing because it did nothing.
template <class Op>
double per_call(Op&& op, int n, int warm = 200) {
  for (int i = 0; i < warm; ++i) static_cast<void>(op(i));
  int done = 0;
  set_counting(true);
  const std::uint64_t before = count();
  for (int i = 0; i < n; ++i) done += op(i) ? 1 : 0;
  const std::uint64_t after = count();
  set_counting(false);
  if (done != n) return std::numeric_limits<double>::infinity();
  return static_cast<double>(after - before) / n;
}

}  // namespace cachet::bench::allocs
