// A separate process for test_hybrid_cache's cross-process tests:
//   hybrid_worker write <mode> <redis-url> <key-prefix> <key> <value>
//   hybrid_worker watch <mode> <redis-url> <key-prefix> <key> <value> <timeout-ms>
// Both build a HybridCache (SimpleCache L1, RedisCache L2, the Redis
// invalidation channel in <mode>) under <key-prefix>. "write" sets <key> and
// exits 0 when acknowledged. "watch" reads <key> once (so its L1 holds it),
// then sets "<key>.ready" to "1" through a plain RedisCache, and reads <key>
// until it equals <value>: exit 0 when it does within <timeout-ms>, 1 when
// not, 2 on bad arguments.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>

#include "cachet/cachet.hpp"

namespace {

cachet::InvalidationMode mode_of(const std::string& s) {
  if (s == "tracking") return cachet::InvalidationMode::tracking;
  if (s == "pubsub") return cachet::InvalidationMode::pubsub;
  return cachet::InvalidationMode::bcast;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string role = argc > 1 ? argv[1] : "";
  if (!((role == "write" && argc == 7) || (role == "watch" && argc == 8))) {
    std::fprintf(stderr, "usage: hybrid_worker <write|watch> <mode> <url> <prefix> <key> <value> [timeout-ms]\n");
    return 2;
  }
  auto options = cachet::RedisOptions::from_url(argv[3]);
  options.key_prefix = argv[4];
  cachet::InvalidationOptions io;
  io.mode = mode_of(argv[2]);
  io.heartbeat = std::chrono::milliseconds(200);
  auto channel = cachet::redis_invalidation_channel(options, io);
  cachet::HybridCache cache(std::make_shared<cachet::SimpleCache>(), std::make_unique<cachet::RedisCache>(options),
                            std::move(channel));
  const std::string key = argv[5];
  const std::string value = argv[6];
  if (role == "write") return cache.set(key, value) ? 0 : 1;

  (void)cache.get(key);
  cachet::RedisCache(options).set(key + ".ready", "1", std::chrono::seconds(30));
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(std::atoll(argv[7]));
  while (std::chrono::steady_clock::now() < deadline) {
    if (cache.get(key) == value) return 0;
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
  return 1;
}
