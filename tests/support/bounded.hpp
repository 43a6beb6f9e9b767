// Test harness: running one cache operation and failing the test when it
// blocks past a bound (the fail-safe's promise: no operation hangs).
#pragma once

#include <gtest/gtest.h>

#include <chrono>

namespace cachet::test {

/// Runs `op` and returns its result; a test failure when it took longer than
/// `bound` (the time is in the message).
template <class F>
auto within(std::chrono::milliseconds bound, F&& op) {
  const auto start = std::chrono::steady_clock::now();
  auto result = op();
  const auto took = std::chrono::steady_clock::now() - start;
  EXPECT_LE(took, bound) << "an operation blocked for "
                         << std::chrono::duration_cast<std::chrono::milliseconds>(took).count() << " ms";
  return result;
}

}  // namespace cachet::test
