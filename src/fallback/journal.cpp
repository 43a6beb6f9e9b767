#include "fallback/journal.hpp"

#include <algorithm>

#include "cachet/errors.hpp"

namespace cachet::detail {

// A write or remove replaces what came before. A delta after a delta adds up;
// a delta after a write or remove makes the key a write: the secondary holds
// the combined value.
void Journal::merge(const Entry& earlier, Entry& later) {
  if (later.op != Op::delta) return;
  if (earlier.op == Op::delta) {
    later.delta += earlier.delta;
  } else {
    later.op = Op::write;
    later.delta = 0;
  }
}

void Journal::record(std::string_view key, Op op, std::int64_t delta) {
  Entry entry{op, op == Op::delta ? delta : 0, next_seq_++};
  auto it = entries_.find(std::string(key));
  if (it != entries_.end()) {
    merge(it->second, entry);
    it->second = entry;
  } else {
    if (entries_.size() >= max_keys_) {
      // Overflow: forget the keys, clear the primary's whole prefix instead.
      entries_.clear();
      clear_pending_ = true;
      overflows_.fetch_add(1, std::memory_order_relaxed);
    }
    entries_.emplace(std::string(key), entry);
  }
  publish_size();
}

void Journal::record_clear() {
  entries_.clear();
  clear_pending_ = true;
  publish_size();
}

Journal::Batch Journal::take(Cache& source) {
  Batch batch;
  batch.clear_first = clear_pending_;
  batch.steps.reserve(entries_.size());
  for (auto& [key, e] : entries_) {
    Step step{key, e.op, e.delta, e.seq, std::nullopt, Ttl{}};
    if (e.op == Op::write) {
      step.value = source.get(key);
      const auto ttl = source.ttl(key);
      if (step.value && ttl) {
        step.ttl = *ttl;
      } else {
        step.value.reset();  // evicted or expired in the secondary: delete it upstream
      }
    }
    batch.steps.push_back(std::move(step));
  }
  std::sort(batch.steps.begin(), batch.steps.end(), [](const Step& x, const Step& y) { return x.seq < y.seq; });
  entries_.clear();
  clear_pending_ = false;
  publish_size();
  return batch;
}

void Journal::put_back(const Batch& batch, std::size_t from, bool clear_done) {
  if (!clear_done) clear_pending_ = true;
  for (std::size_t i = from; i < batch.steps.size(); ++i) {
    const Step& st = batch.steps[i];
    const Entry earlier{st.op, st.delta, st.seq};
    auto it = entries_.find(st.key);
    if (it == entries_.end()) {
      entries_.emplace(st.key, earlier);
    } else {
      merge(earlier, it->second);
    }
  }
  publish_size();
}

void Journal::apply(const Step& step, Cache& target) {
  switch (step.op) {
    case Op::write:
      if (step.value) {
        target.set(step.key, *step.value, step.ttl);
      } else {
        target.remove(step.key);
      }
      break;
    case Op::remove:
      target.remove(step.key);
      break;
    case Op::delta:
      try {
        target.increment(step.key, step.delta);
      } catch (const BackendError& e) {
        if (e.is_outage()) throw;
      }
      break;
  }
}

}  // namespace cachet::detail
