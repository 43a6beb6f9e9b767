// unique_prefix(): the only part of the Redis harness that needs GoogleTest
// (it names the running test), kept apart so that redis_server.cpp builds
// without it.
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <string>

#include "support/redis_server.hpp"

namespace cachet::test {

std::string unique_prefix() {
  static std::atomic<int> counter{0};
  std::string name = "t:";
  if (const auto* info = ::testing::UnitTest::GetInstance()->current_test_info()) {
    name += info->test_suite_name();
    name += '.';
    name += info->name();
  }
  name += ':' + std::to_string(::getpid()) + '.' + std::to_string(counter.fetch_add(1)) + ':';
  return name;
}

}  // namespace cachet::test
