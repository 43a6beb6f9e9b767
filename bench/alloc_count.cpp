// The allocation counter (alloc_count.hpp). malloc, calloc and realloc are
// defined here, in the executable, so every call in the process (libstdc++'s
// operator new, hiredis, cachet) binds to them; they count and forward to
// glibc's implementation through its exported __libc_* entry points. free and
// the aligned allocators stay glibc's: the memory is glibc's either way.
#include "alloc_count.hpp"

#include <atomic>
#include <cstddef>

// Not with a sanitizer, however it was switched on (CACHET_SANITIZE or flags
// of one's own): it would pair glibc's memory with its own free.
#if defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer) || __has_feature(memory_sanitizer)
#define CACHET_BENCH_UNDER_SANITIZER 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define CACHET_BENCH_UNDER_SANITIZER 1
#endif

#if defined(CACHET_BENCH_COUNT_ALLOCS) && defined(__GLIBC__) && !defined(CACHET_BENCH_UNDER_SANITIZER)
#define CACHET_BENCH_ALLOCS_ON 1
#endif

namespace cachet::bench::allocs {
namespace {
std::atomic<bool> g_counting{false};
std::atomic<std::uint64_t> g_count{0};
}  // namespace

#ifdef CACHET_BENCH_ALLOCS_ON
namespace detail {
inline void note() noexcept {
  if (g_counting.load(std::memory_order_relaxed)) g_count.fetch_add(1, std::memory_order_relaxed);
}
}  // namespace detail
#endif

bool available() noexcept {
#ifdef CACHET_BENCH_ALLOCS_ON
  return true;
#else
  return false;
#endif
}
void set_counting(bool on) noexcept { g_counting.store(on, std::memory_order_relaxed); }
std::uint64_t count() noexcept { return g_count.load(std::memory_order_relaxed); }

}  // namespace cachet::bench::allocs

#ifdef CACHET_BENCH_ALLOCS_ON
extern "C" {
void* __libc_malloc(std::size_t size);                // NOLINT(bugprone-reserved-identifier)
void* __libc_calloc(std::size_t n, std::size_t size);  // NOLINT(bugprone-reserved-identifier)
void* __libc_realloc(void* p, std::size_t size);      // NOLINT(bugprone-reserved-identifier)

void* malloc(std::size_t size) noexcept {
  cachet::bench::allocs::detail::note();
  return __libc_malloc(size);
}
void* calloc(std::size_t n, std::size_t size) noexcept {
  cachet::bench::allocs::detail::note();
  return __libc_calloc(n, size);
}
void* realloc(void* p, std::size_t size) noexcept {
  cachet::bench::allocs::detail::note();
  return __libc_realloc(p, size);
}
}
#endif
