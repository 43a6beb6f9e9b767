// redis_basics — RedisCache on a Redis you already run.
//
//   REDIS_URL=redis://:secret@127.0.0.1:6379/0 ./examples/run redis_basics
//
// Reads REDIS_URL (default redis://127.0.0.1:6379/0), stores a few entries under
// the prefix "cachet-example:", shows TTLs, counters and batches, then clears
// only its own prefix. If Redis is not reachable it shows what callers see:
// fail-open misses with a logged reason, or BackendError under ErrorPolicy::Throw.
#include <cachet/cachet.hpp>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

using namespace std::chrono_literals;

int main() {
  const char* env = std::getenv("REDIS_URL");
  const std::string url = env && *env ? env : "redis://127.0.0.1:6379/0";

  cachet::RedisOptions options;
  try {
    options = cachet::RedisOptions::from_url(url);
  } catch (const cachet::ConfigError& e) {
    std::fprintf(stderr, "bad REDIS_URL: %s\n", e.what());  // the password is redacted
    return 2;
  }
  options.key_prefix = "cachet-example:";
  options.default_timeout = 60s;
  std::printf("options: %s\n", options.to_string().c_str());

  cachet::RedisCache cache(options);  // does not connect yet
  if (!cache.ping()) {
    // FailOpen (the default): the failure was logged through the "cachet"
    // logger and counted; operations behave as misses.
    std::printf("Redis at %s is not reachable; get() gives: %s\n", options.redacted_url().c_str(),
                cache.get("greeting") ? "a value" : "a miss");
    std::printf("stats: %s\n", cache.stats().to_string().c_str());

    // ErrorPolicy::Throw: the same failure as an exception with a kind and a reason.
    options.on_error = cachet::ErrorPolicy::Throw;
    cachet::RedisCache strict(options);
    try {
      strict.get("greeting");
    } catch (const cachet::BackendError& e) {
      std::printf("under Throw: BackendError kind=%s: %s\n", cachet::to_string(e.kind()), e.what());
    }
    return 1;
  }

  cache.set("greeting", "hello from cachet");
  std::printf("get(greeting) = %s\n", cache.get("greeting").value_or("(miss)").c_str());

  const bool first = cache.add("lock", "owner-1", 5s);
  const bool second = cache.add("lock", "owner-2", 5s);
  std::printf("add(lock): first=%d second=%d\n", first, second);

  cache.increment("visits");
  const auto visits = cache.increment("visits", 10);
  std::printf("visits = %lld, ttl = %s (a new counter gets default_timeout)\n",
              static_cast<long long>(visits.value_or(-1)), cache.ttl("visits").value_or(cachet::Ttl{}).to_string().c_str());

  cache.set_many({{"a", "1"}, {"b", "2"}, {"c", "3"}}, 30s);
  const auto values = cache.get_many({"a", "b", "missing", "c"});
  std::printf("get_many(a, b, missing, c) =");
  for (const auto& v : values) std::printf(" %s", v ? v->c_str() : "(miss)");
  std::printf("\n");

  cache.set_as<double>("pi", 3.14159);
  std::printf("get_as<double>(pi) = %g\n", cache.get_as<double>("pi").value_or(0));

  const std::string report = cache.get_or_set("report", [] { return std::string("expensive result"); }, 10s);
  std::printf("get_or_set(report) = %s\n", report.c_str());

  std::printf("clear() of prefix %s: %s\n", options.key_prefix.c_str(), cache.clear() ? "ok" : "failed");
  std::printf("stats: %s\n", cache.stats().to_string().c_str());
  return 0;
}
