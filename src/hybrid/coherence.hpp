// Internal: the state that decides whether a value may enter L1 — the
// fetch-versus-invalidation race, closed.
//
// Every key maps to one of kSlots sequence numbers; an epoch covers all keys
// (flush, clear, channel recovery). A filler takes a Ticket before it reads
// L2 and installs only if neither its key's sequence nor the epoch moved; it
// checks again after the install and takes the entry out if one moved
// meanwhile. An invalidation bumps the sequence, then removes the key from
// L1. Whatever the interleaving (all sequentially consistent), either the
// filler sees the bump, or the invalidation's remove comes after the install.
//
// Thread safety: lock-free; any thread.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <string_view>

#include "memory/key_hash.hpp"

namespace cachet::detail {

class Coherence {
 public:
  struct Ticket {
    std::uint64_t seq;
    std::uint64_t epoch;
    std::size_t slot;
  };

  Ticket ticket(std::string_view key) const noexcept {
    const std::size_t slot = slot_of(key);
    return {seqs_[slot].load(), epoch_.load(), slot};
  }
  /// True when nothing invalidated the ticket's key (or everything) since it was taken.
  bool valid(const Ticket& t) const noexcept { return seqs_[t.slot].load() == t.seq && epoch_.load() == t.epoch; }
  /// Marks `key` changed.
  void bump(std::string_view key) noexcept { seqs_[slot_of(key)].fetch_add(1); }
  /// After a write of the ticket's key by this process: bumps it, and true when
  /// nobody else changed it since the ticket (the writer may then install its
  /// value; it re-checks with after_own_write()).
  bool own_write(Ticket& t) noexcept {
    const bool untouched = seqs_[t.slot].fetch_add(1) == t.seq && epoch_.load() == t.epoch;
    ++t.seq;
    return untouched;
  }
  /// Marks everything changed.
  void bump_all() noexcept { epoch_.fetch_add(1); }

  static constexpr std::size_t kSlots = 4096;

 private:
  static std::size_t slot_of(std::string_view key) noexcept { return memory::hash_key(key) % kSlots; }

  std::array<std::atomic<std::uint64_t>, kSlots> seqs_{};
  std::atomic<std::uint64_t> epoch_{0};
};

}  // namespace cachet::detail
