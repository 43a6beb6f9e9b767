// One SimpleCache shard: open-addressing index (linear probing, backward-shift
// deletion, no tombstones) + SIEVE queue, and the shard lock's slow path. See
// docs/architecture.md ("The in-memory engine").
#include "memory/shard.hpp"

#include <algorithm>
#include <cassert>
#include <chrono>
#include <cstdlib>
#include <new>
#include <thread>

#if defined(__linux__) && (defined(__x86_64__) || defined(__aarch64__))
#include <elf.h>       // ELF structures of the vDSO image
#include <link.h>      // ElfW()
#include <sys/auxv.h>  // getauxval(AT_SYSINFO_EHDR)
#define CACHET_VDSO_LOOKUP 1
#endif

namespace cachet::memory {

namespace {

// The index grows by 1.5x up to the size that holds item_budget entries at
// this load; linear probing stays short (about 2 probes on a hit) below it.
constexpr std::size_t kLoadNum = 7;
constexpr std::size_t kLoadDen = 10;
constexpr std::size_t kInitialSlots = 16;

}  // namespace

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

inline void cpu_relax() noexcept {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield" ::: "memory");
#endif
}

}  // namespace

const ClockGettimeFn coarse_clock_gettime = usable_coarse_clock();

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

Entry* Entry::create(std::string_view key, std::string_view value, std::int64_t expires_ns) noexcept {
  // malloc (not new): no exception on exhaustion, and at least 16-byte
  // alignment, which frees the low 4 bits of the pointer for the slot tag.
  static_assert(alignof(std::max_align_t) >= 16, "slot tags need 16-byte aligned allocations");
  void* mem = std::malloc(sizeof(Entry) + key.size() + value.size());
  if (mem == nullptr) return nullptr;
  assert((reinterpret_cast<std::uintptr_t>(mem) & 0xF) == 0);
  auto* e = static_cast<Entry*>(mem);
  e->older = nullptr;
  e->newer = nullptr;
  e->expires_ns = expires_ns;
  e->key_visited = static_cast<std::uint32_t>(key.size());
  e->value_len = static_cast<std::uint32_t>(value.size());
  if (!key.empty()) std::memcpy(e->data(), key.data(), key.size());
  if (!value.empty()) std::memcpy(e->data() + key.size(), value.data(), value.size());
  return e;
}

void Entry::destroy(Entry* e) noexcept { std::free(e); }

void Shard::init(std::size_t item_budget) {
  item_budget_ = item_budget;
  max_slots_ = item_budget * kLoadDen / kLoadNum + 2;
  if (!reset_table(std::min(kInitialSlots, max_slots_))) throw std::bad_alloc();
}

Shard::~Shard() { free_entries(); }

bool Shard::reset_table(std::size_t slots) noexcept {
  std::unique_ptr<std::uintptr_t[]> fresh(new (std::nothrow) std::uintptr_t[slots]());  // zeroed: all empty
  if (!fresh) return false;
  slots_ = std::move(fresh);
  size_ = slots;
  return true;
}

std::size_t Shard::find_ptr(const Entry* e) const noexcept {
  std::size_t i = home(hash_key(e->key()));
  for (;;) {
    const std::uintptr_t s = slots_[i];
    assert(s != 0 && "an entry in the queue must be in the index");
    if (entry_of(s) == e) return i;
    if (++i == size_) i = 0;
  }
}

void Shard::place(std::uintptr_t s, std::uint64_t h) noexcept {
  std::size_t i = home(h);
  while (slots_[i] != 0) {
    if (++i == size_) i = 0;
  }
  slots_[i] = s;
}

bool Shard::grow() noexcept {
  std::size_t next = std::max(size_ + size_ / 2, kInitialSlots);
  if (next > max_slots_) next = max_slots_;
  if (next <= size_) next = size_ + 1;  // unreachable while live_ <= item_budget_; keeps insert safe anyway
  auto old = std::move(slots_);
  const std::size_t old_size = size_;
  if (!reset_table(next)) {
    slots_ = std::move(old);
    return false;
  }
  for (std::size_t i = 0; i < old_size; ++i) {
    if (old[i] != 0) place(old[i], hash_key(entry_of(old[i])->key()));
  }
  return true;
}

bool Shard::insert(Entry* e, std::uint64_t h) noexcept {
  // Out of memory for a bigger index: carry on at a higher load while a free
  // slot is left, fail the insert otherwise.
  if ((live_ + 1) * kLoadDen > size_ * kLoadNum && !grow() && live_ + 1 >= size_) return false;
  place(reinterpret_cast<std::uintptr_t>(e) | tag_of(h), h);
  e->older = head_;
  e->newer = nullptr;
  if (head_ != nullptr) head_->newer = e; else tail_ = e;
  head_ = e;
  ++live_;
  if (e->expires_ns != 0) ++expiring_;
  note_deadline(e->expires_ns);
  return true;
}

void Shard::replace(std::size_t slot, Entry* fresh) noexcept {
  Entry* old = at(slot);
  fresh->older = old->older;
  fresh->newer = old->newer;
  fresh->expires_ns = old->expires_ns;
  fresh->set_visited(old->visited());
  if (fresh->older != nullptr) fresh->older->newer = fresh; else tail_ = fresh;
  if (fresh->newer != nullptr) fresh->newer->older = fresh; else head_ = fresh;
  if (hand_ == old) hand_ = fresh;
  if (sweep_ == old) sweep_ = fresh;
  slots_[slot] = reinterpret_cast<std::uintptr_t>(fresh) | (slots_[slot] & kTagMask);
  Entry::destroy(old);
}

// Backward-shift deletion: pull later members of the probe run into the hole
// so that lookups never need tombstones.
void Shard::unindex(std::size_t slot) noexcept {
  std::size_t hole = slot;
  std::size_t j = slot;
  for (;;) {
    if (++j == size_) j = 0;
    const std::uintptr_t s = slots_[j];
    if (s == 0) break;
    const std::size_t k = home(hash_key(entry_of(s)->key()));
    const bool stays = hole <= j ? (hole < k && k <= j) : (hole < k || k <= j);
    if (stays) continue;
    slots_[hole] = s;
    hole = j;
  }
  slots_[hole] = 0;
}

void Shard::unlink(Entry* e) noexcept {
  if (hand_ == e) hand_ = e->newer;
  // e is a linked entry, never null; the analyzer assumes it may be because it
  // is compared with sweep_, which may be null.
  // NOLINTNEXTLINE(clang-analyzer-core.NullDereference)
  if (sweep_ == e) sweep_ = e->newer;
  if (e->older != nullptr) e->older->newer = e->newer; else tail_ = e->newer;
  if (e->newer != nullptr) e->newer->older = e->older; else head_ = e->older;
}

std::size_t Shard::erase(std::size_t slot) noexcept {
  Entry* e = at(slot);
  unindex(slot);
  unlink(e);
  --live_;
  if (e->expires_ns != 0) --expiring_;
  const std::size_t bytes = e->charge();
  Entry::destroy(e);
  return bytes;
}

std::size_t Shard::erase(Entry* e) noexcept { return erase(find_ptr(e)); }

Shard::Evicted Shard::evict_one(std::int64_t now, const Entry* keep) noexcept {
  if (tail_ == nullptr) return {};
  Entry* p = hand_ != nullptr ? hand_ : tail_;
  Entry* victim = nullptr;
  bool expired = false;
  // Two passes at most: the first may only clear visited bits.
  for (std::size_t steps = 0; steps <= 2 * live_ + 1; ++steps) {
    if (p != keep) {
      if (p->expired_at(now)) {
        victim = p;
        expired = true;
        break;
      }
      if (!p->visited()) {
        victim = p;
        break;
      }
      p->set_visited(false);
    }
    p = p->newer != nullptr ? p->newer : tail_;
  }
  if (victim == nullptr) return {};
  hand_ = victim->newer;  // nullptr: wrap to the tail next time
  Evicted out;
  out.bytes = erase(victim);
  out.expired = expired;
  out.any = true;
  return out;
}

std::pair<std::size_t, std::size_t> Shard::sweep_steps(std::int64_t now, int steps) noexcept {
  std::size_t bytes = 0, reclaimed = 0;
  Entry* p = sweep_ != nullptr ? sweep_ : tail_;
  for (int i = 0; i < steps && p != nullptr; ++i) {
    Entry* next = p->newer;
    if (p->expired_at(now)) {
      bytes += erase(p);
      ++reclaimed;
    } else {
      note_deadline(p->expires_ns);
    }
    p = next;
  }
  sweep_ = p;
  if (p == nullptr) {
    // A pass is complete: every entry linked when it began has been seen, and
    // every deadline set since was noted, so their minimum bounds them all.
    earliest_ = pass_earliest_;
    pass_earliest_ = kNoDeadline;
  }
  return {bytes, reclaimed};
}

std::size_t Shard::clear() noexcept {
  const std::size_t bytes = free_entries();
  // Give a big index back; keep the current one when that allocation fails.
  const std::size_t small = std::min(kInitialSlots, max_slots_);
  if (size_ == small || !reset_table(small)) std::memset(slots_.get(), 0, size_ * sizeof(std::uintptr_t));
  return bytes;
}

std::size_t Shard::free_entries() noexcept {
  std::size_t bytes = 0;
  for (Entry* p = tail_; p != nullptr;) {
    Entry* next = p->newer;
    bytes += p->charge();
    Entry::destroy(p);
    p = next;
  }
  head_ = tail_ = hand_ = sweep_ = nullptr;
  live_ = 0;
  expiring_ = 0;
  earliest_ = pass_earliest_ = kNoDeadline;
  return bytes;
}

}  // namespace cachet::memory
