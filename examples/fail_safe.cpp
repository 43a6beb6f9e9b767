// fail_safe — a Redis outage, live: FallbackCache keeps serving from memory
// while Redis is down and moves back to Redis by itself when it returns,
// replaying what changed meanwhile.
//
// The example starts its own redis-server (from PATH or /usr/bin) on a free
// loopback port, so it needs nothing running:  ./examples/run fail_safe
#include <cachet/cachet.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <string>
#include <thread>

using namespace std::chrono_literals;

namespace {

int free_loopback_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

pid_t start_redis(int port) {
  pid_t pid = ::fork();
  if (pid == 0) {
    const std::string p = std::to_string(port);
    ::execlp("redis-server", "redis-server", "--port", p.c_str(), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--loglevel", "warning", "--logfile", "/dev/null", static_cast<char*>(nullptr));
    ::_exit(127);
  }
  std::this_thread::sleep_for(300ms);
  return pid;
}

void stop_redis(pid_t pid) {
  ::kill(pid, SIGKILL);
  ::waitpid(pid, nullptr, 0);
}

const char* show(const std::optional<std::string>& v) { return v ? v->c_str() : "(miss)"; }

}  // namespace

int main() {
  const int port = free_loopback_port();
  pid_t redis = start_redis(port);

  cachet::RedisOptions redis_options;
  redis_options.host = "127.0.0.1";
  redis_options.port = port;
  redis_options.key_prefix = "fail_safe_demo:";
  cachet::FallbackOptions breaker;
  breaker.cooldown = 500ms;
  breaker.on_state_change = [](cachet::BreakerState from, cachet::BreakerState to) {
    std::printf("  [breaker] %s -> %s\n", cachet::to_string(from), cachet::to_string(to));
  };
  redis_options.on_error = cachet::ErrorPolicy::Throw;  // the breaker must see Redis's failures
  cachet::FallbackCache cache(std::make_unique<cachet::RedisCache>(redis_options),
                              std::make_unique<cachet::SimpleCache>(), breaker);

  std::printf("1. Redis is up (port %d)\n", port);
  cache.set("price", "10");
  cache.set("banner", "spring sale");
  std::printf("  price=%s banner=%s\n", show(cache.get("price")), show(cache.get("banner")));

  std::printf("2. Redis dies (SIGKILL)\n");
  stop_redis(redis);
  auto t0 = std::chrono::steady_clock::now();
  cache.set("price", "12");  // cannot reach Redis: kept in memory, journaled
  cache.remove("banner");    // the invalidation is journaled too
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0).count();
  std::printf("  writes during the outage took %lld ms in total; price=%s banner=%s\n", static_cast<long long>(ms),
              show(cache.get("price")), show(cache.get("banner")));
  t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < 10000; ++i) cache.get("price");
  ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0).count();
  std::printf("  10000 reads while the breaker is open: %lld ms (nothing waits for Redis)\n", static_cast<long long>(ms));

  std::printf("3. Redis comes back (empty); the breaker probes, replays the journal, closes\n");
  redis = start_redis(port);
  for (int i = 0; i < 100 && cache.state() != cachet::BreakerState::closed; ++i) std::this_thread::sleep_for(100ms);
  std::printf("  state=%s price=%s banner=%s\n", cachet::to_string(cache.state()), show(cache.get("price")),
              show(cache.get("banner")));
  std::printf("  stats: %s\n", cache.stats().to_string().c_str());
  std::printf("  %s\n", cache.breaker().to_string().c_str());

  cache.clear();
  stop_redis(redis);
  return cache.state() == cachet::BreakerState::closed ? 0 : 1;
}
