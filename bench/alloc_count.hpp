// Counting heap allocations in cachet_bench: how many times malloc, calloc and
// realloc are called (operator new calls malloc, and so does hiredis) while a
// count is running. Used to check that RedisCache makes no allocation the raw
// hiredis loop does not make, and that a SimpleCache hit allocates only the
// returned value. glibc only, and not in sanitizer builds (the sanitizers
// define malloc themselves); available() says whether counting works. Calls
// glibc makes to its own malloc from inside (strdup, fopen, ...) are not seen;
// neither cachet nor hiredis uses those on the paths counted here.
#pragma once

#include <cstdint>

namespace cachet::bench::allocs {

/// True when this build counts allocations.
bool available() noexcept;

/// Calls of malloc/calloc/realloc by any thread since the process started,
/// counted only while counting() is on (off by default, so timed runs pay one
/// relaxed load per allocation and nothing else).
void set_counting(bool on) noexcept;
std::uint64_t count() noexcept;

/// Allocations per call of `op(i)` for i in [0, n), after `warm` untimed calls.
template <class Op>
double per_call(Op&& op, int n, int warm = 200) {
  for (int i = 0; i < warm; ++i) op(i);
  set_counting(true);
  const std::uint64_t before = count();
  for (int i = 0; i < n; ++i) op(i);
  const std::uint64_t after = count();
  set_counting(false);
  return static_cast<double>(after - before) / n;
}

}  // namespace cachet::bench::allocs
