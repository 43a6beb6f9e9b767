// factory_fallback — what happens when the configuration asks for Redis and
// Redis is not there.
//
//   ./examples/run factory_fallback
//
// It asks for Redis on a loopback port where nothing listens. The factory's
// probe (connect, SET/GET/DEL a test key) fails at once with "connection
// refused". With CACHE_FALLBACK=runtime (the default) the factory returns the
// fail-safe FallbackCache serving from memory, which would move to Redis by
// itself once Redis answered; with CACHE_FALLBACK=startup it builds a plain
// in-memory SimpleCache for good. Both log one warning and say why in their
// report. With CACHE_FALLBACK=none the same situation is an error.
#include <cachet/cachet.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <string>

namespace {

// A loopback port with nothing listening on it (bound, then released).
int unused_loopback_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

void print(const cachet::FactoryReport& r) {
  std::printf("  requested   %s\n  built       %s\n  fell back   %s\n  reason      %s\n  probe time  %lld ms\n",
              r.requested.c_str(), r.backend.empty() ? "(nothing)" : r.backend.c_str(), r.fell_back ? "yes" : "no",
              r.reason.empty() ? "-" : r.reason.c_str(), static_cast<long long>(r.probe_time.count()));
}

}  // namespace

int main() {
  const std::string url = "redis://127.0.0.1:" + std::to_string(unused_loopback_port()) + "/0";
  std::printf("asking for Redis at %s (nothing listens there)\n\n", url.c_str());

  // The same keys an application would put in its environment.
  auto config = cachet::CacheConfig::from_map({{"CACHE_TYPE", "redis"}, {"REDIS_URL", url}});

  for (const auto mode : {cachet::FallbackMode::runtime, cachet::FallbackMode::startup}) {
    std::printf("CACHE_FALLBACK=%s%s:\n", cachet::to_string(mode), mode == cachet::FallbackMode::runtime ? " (default)" : "");
    config.fallback = mode;
    cachet::CacheFactory factory(config);
    auto cache = factory.create();  // never throws for an unreachable Redis in these modes
    print(factory.report());
    cache->set("still", "works");
    std::printf("  the service keeps running: get(\"still\") -> %s\n\n", cache->get("still").value_or("(miss)").c_str());
  }

  std::printf("CACHE_FALLBACK=none:\n");
  config.fallback = cachet::FallbackMode::none;
  cachet::CacheFactory strict(config);
  try {
    strict.create();
    std::printf("  unexpectedly connected\n");
  } catch (const cachet::BackendError& e) {
    std::printf("  create() threw BackendError (%s): %s\n", cachet::to_string(e.kind()), e.what());
  }
  return 0;
}
