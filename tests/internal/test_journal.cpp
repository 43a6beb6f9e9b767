// FallbackCache's journal alone (src/fallback/journal): the merge rule, the
// order of replay, overflow, what a failed replay puts back. SimpleCaches play
// the secondary (source) and the primary (target).
#include "fallback/journal.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <string>

#include "cachet/simple_cache.hpp"

using namespace std::chrono_literals;
using cachet::detail::Journal;
using Op = Journal::Op;

namespace {

TEST(Journal, LatestOperationPerKeyWins) {
  cachet::SimpleCache source;
  Journal j(100);
  j.record("a", Op::write);
  j.record("a", Op::remove);
  j.record("b", Op::delta, 2);
  j.record("b", Op::delta, 3);
  j.record("c", Op::write);
  j.record("c", Op::delta, 7);  // after a write the secondary holds the final value
  j.record("d", Op::delta, 1);
  j.record("d", Op::write);
  EXPECT_EQ(j.size(), 4u);
  source.set("c", "8");
  source.set("d", "x");
  const auto batch = j.take(source);
  EXPECT_TRUE(j.empty());
  EXPECT_EQ(j.size(), 0u);
  EXPECT_FALSE(batch.clear_first);
  ASSERT_EQ(batch.steps.size(), 4u);
  // In the order of each key's latest operation: a(remove) b(delta) c(delta->write) d(write).
  EXPECT_EQ(batch.steps[0].key, "a");
  EXPECT_EQ(batch.steps[0].op, Op::remove);
  EXPECT_EQ(batch.steps[1].key, "b");
  EXPECT_EQ(batch.steps[1].op, Op::delta);
  EXPECT_EQ(batch.steps[1].delta, 5);
  EXPECT_EQ(batch.steps[2].key, "c");
  EXPECT_EQ(batch.steps[2].op, Op::write);
  EXPECT_EQ(batch.steps[2].value, "8");
  EXPECT_EQ(batch.steps[3].key, "d");
  EXPECT_EQ(batch.steps[3].op, Op::write);
  EXPECT_EQ(batch.steps[3].value, "x");
}

TEST(Journal, WriteTakesValueAndRemainingTtlFromTheSource) {
  cachet::SimpleCache source;
  cachet::SimpleCache target;
  Journal j(100);
  source.set("kept", "v", 1h);
  j.record("kept", Op::write);
  j.record("lost", Op::write);  // the secondary no longer has it
  target.set("lost", "old upstream value");
  const auto batch = j.take(source);
  ASSERT_EQ(batch.steps.size(), 2u);
  for (const auto& step : batch.steps) Journal::apply(step, target);
  EXPECT_EQ(target.get("kept"), "v");
  const auto ttl = target.ttl("kept");
  ASSERT_TRUE(ttl.has_value());
  EXPECT_TRUE(ttl->is_finite());
  EXPECT_LE(ttl->duration(), 1h);
  EXPECT_GT(ttl->duration(), 59min);
  EXPECT_FALSE(target.get("lost").has_value());  // deleted upstream rather than left stale
}

TEST(Journal, DeltaReplaysAsIncrement) {
  cachet::SimpleCache source;
  cachet::SimpleCache target;
  target.set("n", "10");
  target.set("text", "not a number");
  Journal j(100);
  j.record("n", Op::delta, 4);
  j.record("n", Op::delta, -1);
  j.record("text", Op::delta, 1);
  for (const auto& step : j.take(source).steps) Journal::apply(step, target);
  EXPECT_EQ(target.get("n"), "13");
  EXPECT_EQ(target.get("text"), "not a number");  // nothing to add to: skipped, no throw
}

TEST(Journal, OverflowBecomesAClear) {
  cachet::SimpleCache source;
  Journal j(2);
  j.record("a", Op::remove);
  j.record("b", Op::remove);
  j.record("a", Op::write);  // an existing key: no overflow
  EXPECT_EQ(j.overflows(), 0u);
  j.record("c", Op::remove);  // a third key
  EXPECT_EQ(j.overflows(), 1u);
  EXPECT_EQ(j.size(), 1u);
  const auto batch = j.take(source);
  EXPECT_TRUE(batch.clear_first);
  ASSERT_EQ(batch.steps.size(), 1u);
  EXPECT_EQ(batch.steps[0].key, "c");
}

TEST(Journal, ClearSupersedesEarlierEntries) {
  cachet::SimpleCache source;
  Journal j(100);
  j.record("a", Op::remove);
  j.record_clear();
  j.record("b", Op::remove);
  const auto batch = j.take(source);
  EXPECT_TRUE(batch.clear_first);
  ASSERT_EQ(batch.steps.size(), 1u);
  EXPECT_EQ(batch.steps[0].key, "b");
}

TEST(Journal, PutBackKeepsNewerEntriesOnTop) {
  cachet::SimpleCache source;
  Journal j(100);
  j.record("a", Op::delta, 2);
  j.record("b", Op::remove);
  j.record("c", Op::remove);
  j.record_clear();
  j.record("a", Op::delta, 2);
  j.record("b", Op::remove);
  j.record("c", Op::remove);
  const auto batch = j.take(source);
  ASSERT_EQ(batch.steps.size(), 3u);
  // Meanwhile (the replay runs without the lock) writers journal more.
  j.record("a", Op::delta, 3);
  j.record("b", Op::delta, 1);
  // The replay failed before its clear and its first step: everything goes back.
  j.put_back(batch, 0, false);
  const auto again = j.take(source);
  EXPECT_TRUE(again.clear_first);
  ASSERT_EQ(again.steps.size(), 3u);
  // c keeps its old place first; then the newer a and b.
  EXPECT_EQ(again.steps[0].key, "c");
  EXPECT_EQ(again.steps[0].op, Op::remove);
  EXPECT_EQ(again.steps[1].key, "a");
  EXPECT_EQ(again.steps[1].op, Op::delta);
  EXPECT_EQ(again.steps[1].delta, 5);
  EXPECT_EQ(again.steps[2].key, "b");
  EXPECT_EQ(again.steps[2].op, Op::write);  // a delta after a remove: the secondary's value
}

TEST(Journal, PutBackFromTheFailedStepOnly) {
  cachet::SimpleCache source;
  Journal j(100);
  j.record("a", Op::remove);
  j.record("b", Op::remove);
  const auto batch = j.take(source);
  j.put_back(batch, 1, true);  // a was applied, the clear (none) is done
  const auto again = j.take(source);
  EXPECT_FALSE(again.clear_first);
  ASSERT_EQ(again.steps.size(), 1u);
  EXPECT_EQ(again.steps[0].key, "b");
}

}  // namespace
