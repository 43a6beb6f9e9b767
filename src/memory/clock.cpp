// The in-memory engine's clocks: steady_clock in nanoseconds, the vDSO lookup
// of clock_gettime, and the start-up check that decides whether
// CLOCK_MONOTONIC_COARSE may stand in for steady_clock as a lower bound.
#include "memory/clock.hpp"

#include <algorithm>
#include <chrono>
#include <cstring>

#if defined(__linux__) && (defined(__x86_64__) || defined(__aarch64__))
#include <elf.h>       // ELF structures of the vDSO image
#include <link.h>      // ElfW()
#include <sys/auxv.h>  // getauxval(AT_SYSINFO_EHDR)
#define CACHET_VDSO_LOOKUP 1
#endif

namespace cachet::memory {

std::int64_t now_ns() noexcept {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// The vDSO's clock_gettime, found in the ELF image the kernel maps into every
// process (its address is in the auxiliary vector), or null. No dlopen: that
// would add libdl to the link line and warn in static executables. The image
// is the kernel's own and well formed; anything unexpected in it (no
// vDSO, as under valgrind; no symbol table; no such symbol) gives null, and the
// caller falls back to libc's clock_gettime.
ClockGettimeFn find_vdso_clock_gettime() noexcept { return find_vdso_clock_gettime(false); }

ClockGettimeFn find_vdso_clock_gettime(bool ignore_sysv_hash) noexcept {
#ifndef CACHET_VDSO_LOOKUP
  static_cast<void>(ignore_sysv_hash);
  return nullptr;
#else
#if defined(__x86_64__)
  constexpr const char* kName = "__vdso_clock_gettime";
#else
  constexpr const char* kName = "__kernel_clock_gettime";
#endif
  const std::uintptr_t base = getauxval(AT_SYSINFO_EHDR);
  if (base == 0) return nullptr;
  const auto* eh = reinterpret_cast<const ElfW(Ehdr)*>(base);
  if (std::memcmp(eh->e_ident, ELFMAG, SELFMAG) != 0 || eh->e_ident[EI_CLASS] != ELFCLASS64) return nullptr;
  const auto* ph = reinterpret_cast<const ElfW(Phdr)*>(base + eh->e_phoff);
  std::uintptr_t bias = 0;  // run-time address minus link-time address
  bool have_load = false;
  const ElfW(Dyn)* dyn = nullptr;
  for (std::size_t i = 0; i < eh->e_phnum; ++i) {
    if (ph[i].p_type == PT_LOAD && !have_load) {
      bias = base + ph[i].p_offset - ph[i].p_vaddr;
      have_load = true;
    } else if (ph[i].p_type == PT_DYNAMIC) {
      dyn = reinterpret_cast<const ElfW(Dyn)*>(base + ph[i].p_offset);
    }
  }
  if (!have_load || dyn == nullptr) return nullptr;
  const ElfW(Sym)* symtab = nullptr;
  const char* strtab = nullptr;
  const ElfW(Word)* hash = nullptr;      // DT_HASH: nbucket, nchain, ...; nchain = number of symbols
  const ElfW(Word)* gnu_hash = nullptr;  // DT_GNU_HASH, when there is no DT_HASH
  for (const ElfW(Dyn)* d = dyn; d->d_tag != DT_NULL; ++d) {
    if (d->d_tag == DT_SYMTAB) symtab = reinterpret_cast<const ElfW(Sym)*>(bias + d->d_un.d_ptr);
    if (d->d_tag == DT_STRTAB) strtab = reinterpret_cast<const char*>(bias + d->d_un.d_ptr);
    if (d->d_tag == DT_HASH && !ignore_sysv_hash) hash = reinterpret_cast<const ElfW(Word)*>(bias + d->d_un.d_ptr);
    if (d->d_tag == DT_GNU_HASH) gnu_hash = reinterpret_cast<const ElfW(Word)*>(bias + d->d_un.d_ptr);
  }
  if (symtab == nullptr || strtab == nullptr || (hash == nullptr && gnu_hash == nullptr)) return nullptr;
  ElfW(Word) nsyms = 0;
  if (hash != nullptr) {
    nsyms = hash[1];
  } else {
    // GNU hash: nbuckets, symoffset, bloom words, bloom shift, the bloom
    // filter (ElfW(Addr) words), the buckets, then one chain word per symbol
    // from symoffset on, the last of each chain with bit 0 set. The symbol
    // count is one past the end of the chain of the highest bucket.
    const ElfW(Word) nbuckets = gnu_hash[0];
    const ElfW(Word) symoffset = gnu_hash[1];
    const ElfW(Word) bloom_words = gnu_hash[2];
    const auto* buckets = reinterpret_cast<const ElfW(Word)*>(
        reinterpret_cast<const ElfW(Addr)*>(gnu_hash + 4) + bloom_words);
    const ElfW(Word)* chain = buckets + nbuckets;
    ElfW(Word) last = 0;
    for (ElfW(Word) b = 0; b < nbuckets; ++b) last = std::max(last, buckets[b]);
    if (last < symoffset) {
      nsyms = symoffset;
    } else {
      while ((chain[last - symoffset] & 1U) == 0) ++last;
      nsyms = last + 1;
    }
  }
  for (ElfW(Word) k = 0; k < nsyms; ++k) {
    const ElfW(Sym)& sym = symtab[k];
    if (ELF64_ST_TYPE(sym.st_info) != STT_FUNC || sym.st_shndx == SHN_UNDEF || sym.st_value == 0) continue;
    if (std::strcmp(strtab + sym.st_name, kName) == 0) {
      return reinterpret_cast<ClockGettimeFn>(bias + sym.st_value);
    }
  }
  return nullptr;
#endif
}

namespace {

// CLOCK_MONOTONIC_COARSE is steady_clock's base (CLOCK_MONOTONIC) as of the
// last timer tick, so it never runs ahead of it. Checked once at start-up,
// through the function that will read it: the vDSO's if it passes, else
// libc's; when neither looks like that, the coarse path is disabled (null).
bool is_coarse_lower_bound(ClockGettimeFn read) noexcept {
#ifdef CLOCK_MONOTONIC_COARSE
  const std::int64_t before = now_ns();
  timespec ts{};
  if (read(CLOCK_MONOTONIC_COARSE, &ts) != 0) return false;
  const std::int64_t coarse = timespec_ns(ts);
  const std::int64_t after = now_ns();
  // A lower bound that lags by at most a few ticks.
  return coarse != 0 && coarse <= after && coarse > before - 100'000'000;
#else
  static_cast<void>(read);
  return false;
#endif
}

ClockGettimeFn usable_coarse_clock() noexcept {
  const ClockGettimeFn vdso = find_vdso_clock_gettime();
  if (vdso != nullptr && is_coarse_lower_bound(vdso)) return vdso;
  if (is_coarse_lower_bound(&::clock_gettime)) return &::clock_gettime;
  return nullptr;
}

}  // namespace

const ClockGettimeFn coarse_clock_gettime = usable_coarse_clock();

}  // namespace cachet::memory
