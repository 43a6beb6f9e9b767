// Internal: FallbackCache's journal — what was written or invalidated while the
// primary was unavailable, one entry per key (the latest operation wins, by the
// merge rule below), and its replay to the primary in the order of the
// operations. A clear supersedes everything before it; past `max_keys` keys
// the journal forgets them all and asks for a clear of the primary instead (a
// superset of every invalidation).
//
// Not thread-safe: the owner serializes every call with its own lock (the same
// lock that makes "write the secondary + record it" atomic against recovery).
// size() alone may be read without it.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "cachet/cache.hpp"

namespace cachet::detail {

class Journal {
 public:
  /// What is remembered of one key.
  enum class Op {
    write,   ///< replay: set the secondary's current value (or delete it when the secondary lost it)
    remove,  ///< replay: delete
    delta,   ///< replay: INCRBY the summed deltas (counters kept in the primary lose nothing)
  };

  /// One key's replay, prepared by take().
  struct Step {
    std::string key;
    Op op = Op::write;
    std::int64_t delta = 0;             ///< for Op::delta
    std::uint64_t seq = 0;              ///< order of the key's latest operation
    std::optional<std::string> value;   ///< for Op::write: the value to set; nullopt: delete
    Ttl ttl;                            ///< for Op::write: the remaining lifetime
  };

  /// Everything journaled: whether the primary must be cleared first, then
  /// the steps in the order of their latest operations.
  struct Batch {
    bool clear_first = false;
    std::vector<Step> steps;
  };

  explicit Journal(std::size_t max_keys) : max_keys_(max_keys) {}

  /// Records an operation on `key` (delta: the increment's amount).
  void record(std::string_view key, Op op, std::int64_t delta = 0);
  /// Records a clear: every earlier entry is superseded.
  void record_clear();

  /// True when there is nothing to replay.
  bool empty() const noexcept { return entries_.empty() && !clear_pending_; }
  /// Keys waiting (readable without the owner's lock).
  std::size_t size() const noexcept { return size_.load(std::memory_order_relaxed); }
  /// How many times the journal overflowed and fell back to a clear.
  std::uint64_t overflows() const noexcept { return overflows_.load(std::memory_order_relaxed); }

  /// Empties the journal into a batch. Each write step gets the value and
  /// remaining TTL that `source` (the secondary) holds now; where it holds
  /// none (evicted, expired), the step deletes the key instead.
  Batch take(Cache& source);

  /// Puts back what a failed replay did not apply: steps[from..], and the
  /// clear when `clear_done` is false. Entries journaled since take() are
  /// newer and stay on top (merged by the same rule as record()).
  void put_back(const Batch& batch, std::size_t from, bool clear_done);

  /// Applies one step to `target`. Throws BackendError when the target fails
  /// (a counter that is not an integer upstream has nothing to add to: skipped).
  static void apply(const Step& step, Cache& target);

 private:
  struct Entry {
    Op op;
    std::int64_t delta;
    std::uint64_t seq;
  };
  // The merge rule: `later` happened after `earlier` on the same key.
  static void merge(const Entry& earlier, Entry& later);
  void publish_size() noexcept { size_.store(entries_.size(), std::memory_order_relaxed); }

  const std::size_t max_keys_;
  std::unordered_map<std::string, Entry> entries_;
  std::uint64_t next_seq_ = 0;
  bool clear_pending_ = false;
  std::atomic<std::size_t> size_{0};
  std::atomic<std::uint64_t> overflows_{0};
};

}  // namespace cachet::detail
