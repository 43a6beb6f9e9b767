// One SimpleCache shard: open-addressing index (linear probing, backward-shift
// deletion, no tombstones) + SIEVE queue. See docs/architecture.md ("The
// in-memory engine").
#include "memory/shard.hpp"

#include <algorithm>
#include <cassert>
#include <cstdlib>
#include <cstring>
#include <new>

namespace cachet::memory {

namespace {

// The index grows by 1.5x up to the size that holds item_budget entries at
// this load; linear probing stays short (about 2 probes on a hit) below it.
constexpr std::size_t kLoadNum = 7;
constexpr std::size_t kLoadDen = 10;
constexpr std::size_t kInitialSlots = 16;

}  // namespace

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
