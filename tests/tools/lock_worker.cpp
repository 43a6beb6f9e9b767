// A separate process for test_loading's distributed-lock tests:
//   lock_worker <load|hang> <redis-url> <key-prefix> <threads> <loader-ms> <lock-timeout-ms>
// Each of <threads> threads calls get_or_set("shared", ...) with
// distributed_lock on a RedisCache under <key-prefix>. The loader increments
// "<key-prefix>runs" (so the test counts loader runs across processes), sleeps
// <loader-ms> and returns "value". Exit status 0 when every call returned
// "value", 1 otherwise, 2 on bad arguments. In "hang" mode the test kills the
// process while its loader sleeps.
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "cachet/cachet.hpp"

int main(int argc, char** argv) {
  if (argc != 7) {
    std::fprintf(stderr, "usage: lock_worker <load|hang> <url> <prefix> <threads> <loader-ms> <lock-ms>\n");
    return 2;
  }
  auto options = cachet::RedisOptions::from_url(argv[2]);
  options.key_prefix = argv[3];
  options.socket_timeout = std::chrono::seconds(2);
  cachet::RedisCache cache(options);
  const int threads = std::atoi(argv[4]);
  const auto loader_ms = std::chrono::milliseconds(std::atoll(argv[5]));
  cachet::LoadOptions load;
  load.ttl = std::chrono::seconds(60);
  load.distributed_lock = true;
  load.lock_timeout = std::chrono::milliseconds(std::atoll(argv[6]));

  std::atomic<int> bad{0};
  std::vector<std::thread> workers;
  for (int i = 0; i < threads; ++i) {
    workers.emplace_back([&] {
      const std::string v = cache.get_or_set(
          "shared",
          [&] {
            cache.increment("runs");
            std::this_thread::sleep_for(loader_ms);
            return std::string("value");
          },
          load);
      if (v != "value") ++bad;
    });
  }
  for (auto& t : workers) t.join();
  return bad.load() == 0 ? 0 : 1;
}
