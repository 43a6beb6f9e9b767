// metrics_server — two caches under load, their metrics served to Prometheus.
//
//   ./examples/run metrics_server --redis redis://127.0.0.1:6379/0 --port 9464
//   curl -s http://127.0.0.1:9464/metrics
//
// One in-memory SimpleCache ("memory") and one Redis cache behind a
// FallbackCache ("redis"), each exercised by a worker thread (get_or_set,
// get, set, remove, a batch now and then), both registered in one
// cachet::MetricsRegistry. GET /metrics answers with the registry's text in
// the Prometheus exposition format. HTTP comes from cpp-httplib
// (libcpp-httplib-dev); cachet itself has no HTTP dependency.
//
// Options: --port N (default 0: any free port), --redis URL (default: the
// REDIS_URL environment variable, else redis://127.0.0.1:6379/0), --seconds N
// (stop after N seconds; default: run until SIGINT or SIGTERM). It listens on
// 127.0.0.1 only and prints "listening on 127.0.0.1:<port>" once it serves.
// While Redis is down the fallback serves from memory and
// cachet_breaker_state{cache="redis"} is 1.
#include <cachet/cachet.hpp>
#include <httplib.h>
#include <pthread.h>
#include <signal.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

namespace {

struct Args {
  int port = 0;
  std::string redis_url;
  int seconds = 0;
};

Args parse(int argc, char** argv) {
  Args a;
  const char* env = std::getenv("REDIS_URL");
  a.redis_url = env != nullptr && *env != '\0' ? env : "redis://127.0.0.1:6379/0";
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (i + 1 >= argc) {
      std::fprintf(stderr, "metrics_server: %s needs a value\n", arg.c_str());
      std::exit(2);
    }
    const char* value = argv[++i];
    if (arg == "--port") {
      a.port = std::atoi(value);
    } else if (arg == "--redis") {
      a.redis_url = value;
    } else if (arg == "--seconds") {
      a.seconds = std::atoi(value);
    } else {
      std::fprintf(stderr, "metrics_server: unknown option %s (accepted: --port --redis --seconds)\n", arg.c_str());
      std::exit(2);
    }
  }
  return a;
}

// A gentle, steady load: about 2,000 operations per second, mostly hits.
void exercise(cachet::Cache& cache, const std::atomic<bool>& stop, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> key(0, 499);
  std::uniform_int_distribution<int> pick(0, 99);
  while (!stop.load()) {
    for (int i = 0; i < 20; ++i) {
      const std::string k = "item:" + std::to_string(key(rng));
      const int p = pick(rng);
      if (p < 60) {
        cache.get_or_set(k, [&] { return "value of " + k; }, cachet::Ttl(std::chrono::seconds(30)));
      } else if (p < 85) {
        cache.get(k);
      } else if (p < 95) {
        cache.set(k, "fresh " + k, cachet::Ttl(std::chrono::seconds(30)));
      } else if (p < 98) {
        cache.remove(k);
      } else {
        cache.get_many({"item:1", "item:2", "item:3"});
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

}  // namespace

int main(int argc, char** argv) {
  const Args args = parse(argc, argv);

  // SIGINT / SIGTERM are taken by a thread (sigwait) instead of a handler:
  // stopping the HTTP server is not async-signal-safe.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  cachet::SimpleCache memory;
  auto redis_options = cachet::RedisOptions::from_url(args.redis_url);
  redis_options.on_error = cachet::ErrorPolicy::Throw;  // the fallback decides what a failure means
  redis_options.key_prefix = "metrics-example:";
  redis_options.connect_timeout = std::chrono::milliseconds(200);
  redis_options.socket_timeout = std::chrono::milliseconds(200);
  cachet::FallbackOptions fallback_options;
  fallback_options.cooldown = std::chrono::seconds(2);
  cachet::FallbackCache redis(std::make_unique<cachet::RedisCache>(redis_options),
                              std::make_unique<cachet::SimpleCache>(), fallback_options);

  cachet::MetricsRegistry registry;
  registry.add("memory", memory);
  registry.add("redis", redis);

  std::atomic<bool> stop{false};
  std::vector<std::thread> workers;
  workers.emplace_back([&] { exercise(memory, stop, 1); });
  workers.emplace_back([&] { exercise(redis, stop, 2); });

  httplib::Server server;
  server.Get("/metrics", [&](const httplib::Request&, httplib::Response& res) {
    res.set_content(registry.prometheus_text(), "text/plain; version=0.0.4; charset=utf-8");
  });
  const int port = args.port == 0 ? server.bind_to_any_port("127.0.0.1") : args.port;
  if (port <= 0 || (args.port != 0 && !server.bind_to_port("127.0.0.1", args.port))) {
    std::fprintf(stderr, "metrics_server: cannot listen on 127.0.0.1:%d\n", args.port);
    stop.store(true);
    for (auto& w : workers) w.join();
    registry.remove("memory");
    registry.remove("redis");
    return 1;
  }
  std::thread http([&] { server.listen_after_bind(); });
  std::printf("listening on 127.0.0.1:%d\n", port);
  std::fflush(stdout);

  std::thread stopper([&] {
    if (args.seconds > 0) {
      timespec timeout{args.seconds, 0};
      sigtimedwait(&signals, nullptr, &timeout);
    } else {
      int sig = 0;
      sigwait(&signals, &sig);
    }
    server.stop();
  });
  http.join();
  stopper.join();

  stop.store(true);
  for (auto& w : workers) w.join();
  // Unregister before the caches go out of scope (a registry never reads a removed cache).
  registry.remove("memory");
  registry.remove("redis");
  std::printf("stopped: memory %s; redis %s\n", memory.stats().to_string().c_str(),
              redis.breaker().to_string().c_str());
  return 0;
}
