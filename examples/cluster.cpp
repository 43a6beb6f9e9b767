// cluster — the same Cache on a Redis Cluster (or through Sentinel).
//
//   REDIS_URL=redis+cluster://127.0.0.1:7000,127.0.0.1:7001 ./examples/run cluster
//   REDIS_URL='redis+sentinel://127.0.0.1:26379/mymaster?sentinel_password=pw' ./examples/run cluster
//
// Reads REDIS_URL (any topology), writes 300 keys that the cluster spreads over
// its masters, reads them back in one get_many (one pipelined request per
// node), keeps a user's keys together with a {hash tag}, counts, and clears its
// own prefix on every master. Call sites are those of a standalone Redis: only
// the URL differs. Unreachable? It prints what callers see (misses) and why.
#include <cachet/cachet.hpp>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

using namespace std::chrono_literals;

int main() {
  const char* env = std::getenv("REDIS_URL");
  const std::string url = env && *env ? env : "redis+cluster://127.0.0.1:7000,127.0.0.1:7001,127.0.0.1:7002";

  cachet::RedisOptions options;
  try {
    options = cachet::RedisOptions::from_url(url);
  } catch (const cachet::ConfigError& e) {
    std::fprintf(stderr, "bad REDIS_URL: %s\n", e.what());  // passwords redacted
    return 2;
  }
  options.key_prefix = "cachet-example:";
  options.default_timeout = 60s;
  std::printf("options: %s\n", options.to_string().c_str());

  cachet::RedisCache cache(options);  // connects on first use
  if (!cache.ping()) {
    std::printf("%s is not usable (every slot must be served); get() gives: %s\n", options.redacted_url().c_str(),
                cache.get("k0") ? "a value" : "a miss");
    std::printf("stats: %s\n", cache.stats().to_string().c_str());
    return 1;
  }

  std::vector<std::string> keys;
  std::vector<std::pair<std::string_view, std::string_view>> items;
  for (int i = 0; i < 300; ++i) keys.push_back("k" + std::to_string(i));
  for (const auto& k : keys) items.emplace_back(k, k);
  cache.set_many(items);  // grouped by node: one pipelined round trip per node
  std::vector<std::string_view> views(keys.begin(), keys.end());
  std::size_t hits = 0;
  for (const auto& v : cache.get_many(views)) hits += v.has_value();
  std::printf("get_many of %zu keys spread over the masters: %zu hits\n", views.size(), hits);

  // Keys sharing a {tag} share a slot, so they live on one node together.
  cache.set("{user:42}:name", "Ada");
  cache.set("{user:42}:email", "ada@example.org");
  std::printf("user 42: %s <%s>\n", cache.get("{user:42}:name").value_or("?").c_str(),
              cache.get("{user:42}:email").value_or("?").c_str());

  std::printf("visits: %lld\n", static_cast<long long>(cache.increment("visits").value_or(-1)));
  std::printf("clear(): %s\n", cache.clear() ? "removed this prefix on every master" : "failed");
  std::printf("stats: %s\n", cache.stats().to_string().c_str());
  return 0;
}
