// quickstart — a tour of cachet in one file.
//
// The cache comes from the environment, so the same binary runs in memory or
// on Redis:
//
//   ./examples/run                                                     # SimpleCache (the default)
//   CACHE_TYPE=redis REDIS_URL=redis://127.0.0.1:6379/0 ./examples/run  # RedisCache
//
// If Redis cannot be reached, create_cache() falls back to memory, logs one
// warning, and this example says so at the end. docs/configuration.md lists
// every setting.
#include <cachet/cachet.hpp>

#include <cstdio>
#include <string>
#include <thread>

using namespace std::chrono_literals;

int main() {
  std::unique_ptr<cachet::Cache> cache;
  try {
    // 1. The configured cache: CACHE_TYPE, REDIS_URL, CACHE_DEFAULT_TIMEOUT, ...
    cache = cachet::create_cache();
  } catch (const cachet::ConfigError& e) {
    std::fprintf(stderr, "configuration error: %s\n", e.what());
    return 2;
  }
  std::printf("using the '%.*s' backend\n\n", static_cast<int>(cache->backend().size()), cache->backend().data());

  // 2. set / get with a TTL. Values are bytes; a miss is std::nullopt.
  cache->set("quickstart:greeting", "hello", 2s);
  auto greeting = cache->get("quickstart:greeting");
  std::printf("set greeting for 2 s, get -> %s\n", greeting ? greeting->c_str() : "(miss)");
  if (auto left = cache->ttl("quickstart:greeting")) {
    std::printf("  time left: %lld ms\n", static_cast<long long>(left->duration().count()));
  }
  std::printf("  missing key -> %s\n", cache->get("quickstart:nothing-here") ? "hit?!" : "(miss)");

  // 3. get_or_set: compute on a miss, store, return. The loader runs once.
  int loads = 0;
  auto expensive = [&loads] {
    ++loads;
    return std::string("rendered page");
  };
  cache->remove("quickstart:page");
  const std::string first = cache->get_or_set("quickstart:page", expensive, 30s);
  const std::string second = cache->get_or_set("quickstart:page", expensive, 30s);
  std::printf("get_or_set twice -> \"%s\", \"%s\"; the loader ran %d time(s)\n", first.c_str(), second.c_str(), loads);

  // 4. Typed values go through cachet::Codec<T> (integers as decimal text,
  //    doubles exactly, bools as 1/0). Your own types: specialize Codec<T>.
  cache->set_as<double>("quickstart:pi", 3.14159, 1min);
  cache->set_as<bool>("quickstart:feature-on", true, 1min);
  std::printf("typed: pi=%g feature-on=%s\n", cache->get_as<double>("quickstart:pi").value_or(0.0),
              cache->get_as<bool>("quickstart:feature-on").value_or(false) ? "true" : "false");

  // 5. Atomic counters. On Redis the count survives this process: run the
  //    example again and watch it grow; in memory it starts over.
  const auto visits = cache->increment("quickstart:visits");
  std::printf("increment visits -> %lld\n", static_cast<long long>(visits.value_or(-1)));

  // 6. Expiry: wait for the greeting's 2 s to pass.
  std::this_thread::sleep_for(2100ms);
  std::printf("after 2.1 s, greeting -> %s\n", cache->get("quickstart:greeting") ? "still there?!" : "(expired)");

  // 7. Statistics, always on.
  const auto stats = cache->stats();
  std::printf("\nstats: %s\n  hit ratio %.0f%%\n", stats.to_string().c_str(), 100.0 * stats.hit_ratio());

  // 8. Which backend did the configuration pick, and why? CacheFactory is what
  //    create_cache() uses; its report says what was asked for, what was built,
  //    and the reason for a fallback. (`cachet probe` prints the same.)
  cachet::CacheFactory factory(cachet::CacheConfig::from_env());
  try {
    factory.create();
  } catch (const cachet::BackendError& e) {
    std::printf("\nfactory: %s\n", e.what());  // only with CACHE_FALLBACK=none
  }
  const auto& report = factory.report();
  std::printf("\nfactory report:\n  requested  %s\n  built      %s\n  fell back  %s\n", report.requested.c_str(),
              report.backend.c_str(), report.fell_back ? "yes" : "no");
  if (!report.reason.empty()) std::printf("  reason     %s\n", report.reason.c_str());
  if (report.requested == "redis") {
    std::printf("  probe      %lld ms against %s\n", static_cast<long long>(report.probe_time.count()),
                report.target.c_str());
  }
  return 0;
}
