// Two HybridCaches — think of them as two processes of one service — over the
// same Redis: each answers repeated reads from its in-process L1, and a write
// through one (or by any other Redis client) reaches the other's L1 as an
// invalidation within a fraction of a millisecond.
//
//   ./examples/run hybrid                         (Redis at redis://127.0.0.1:6379/0)
//   REDIS_URL=redis://127.0.0.1:6380/0 ./examples/run hybrid
#include <cachet/cachet.hpp>

#include <chrono>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <thread>

namespace {

std::unique_ptr<cachet::HybridCache> make(const std::string& url) {
  auto redis = cachet::RedisOptions::from_url(url);
  redis.key_prefix = "example-hybrid:";
  cachet::InvalidationOptions invalidation;  // bcast: every change under the prefix, by anyone
  auto channel = cachet::redis_invalidation_channel(redis, invalidation);  // before the L2 is built
  return std::make_unique<cachet::HybridCache>(std::make_shared<cachet::SimpleCache>(),
                                               std::make_unique<cachet::RedisCache>(redis), std::move(channel));
}

}  // namespace

int main() {
  const char* env = std::getenv("REDIS_URL");
  const std::string url = env ? env : "redis://127.0.0.1:6379/0";
  auto a = make(url);
  auto b = make(url);
  std::cout << "mode: " << b->hybrid_stats().mode_reason << '\n';
  if (!b->hybrid_stats().l1_in_use) {
    std::cerr << "Redis at " << url << " is not reachable; start one or set REDIS_URL\n";
    return 1;
  }

  a->set("greeting", "hello");
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  std::cout << "b reads: " << *b->get("greeting") << " (from Redis, now in b's L1)\n";
  std::cout << "b reads: " << *b->get("greeting") << " (from b's L1)\n";

  a->set("greeting", "bonjour");
  const auto start = std::chrono::steady_clock::now();
  while (b->get("greeting") != "bonjour") std::this_thread::yield();
  const auto us = std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - start);
  std::cout << "b reads: bonjour, " << us.count() << " us after a's write was acknowledged\n";
  std::cout << "b: " << b->hybrid_stats().to_string() << '\n';
  a->clear();
  return 0;
}
