// resilient_loader — get_or_set when the source behind the cache misbehaves.
//
// A pretend database answers in 20 ms, then fails, then takes 600 ms per query,
// then recovers. The same call site reads through the cache all along, with
// fail-safe, a soft and a hard timeout and eager refresh; the output shows what
// each caller got and how long it waited. Runs on the configured cache
// (in memory by default; CACHE_TYPE=redis REDIS_URL=... works the same).
#include <cachet/cachet.hpp>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <stdexcept>
#include <string>
#include <thread>

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace {

enum class Mood { healthy, down, slow };

class Database {
 public:
  void set_mood(Mood m) { mood_ = m; }
  int queries() const { return queries_.load(); }

  std::string price(const std::string& item) {
    const int n = ++queries_;
    switch (mood_.load()) {
      case Mood::healthy: std::this_thread::sleep_for(20ms); break;
      case Mood::down: throw std::runtime_error("connection to the database refused");
      case Mood::slow: std::this_thread::sleep_for(600ms); break;
    }
    return item + " costs " + std::to_string(10 + n);
  }

 private:
  std::atomic<Mood> mood_{Mood::healthy};
  std::atomic<int> queries_{0};
};

long long ms_since(Clock::time_point t0) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t0).count();
}

}  // namespace

int main() {
  auto cache = cachet::create_cache();
  cache->clear();
  Database db;

  cachet::LoadOptions o;
  o.ttl = 300ms;
  o.fail_safe = true;
  o.fail_safe_throttle = 1s;
  o.soft_timeout = 100ms;
  o.hard_timeout = 1500ms;

  // The one call site. The loader is copied when it must finish in the
  // background, so it holds a pointer to the database, not a reference to a local.
  auto read = [&](const char* when) {
    const auto t0 = Clock::now();
    try {
      const std::string v = cache->get_or_set("price:tea", [db = &db] { return db->price("tea"); }, o);
      std::printf("  %-34s -> \"%s\" after %lld ms\n", when, v.c_str(), ms_since(t0));
    } catch (const std::exception& e) {
      std::printf("  %-34s -> error \"%s\" after %lld ms\n", when, e.what(), ms_since(t0));
    }
  };

  std::printf("1. The database is healthy\n");
  read("first read (a miss: loads)");
  read("second read (a hit)");

  std::printf("2. The value turns stale and the database goes down\n");
  std::this_thread::sleep_for(350ms);
  db.set_mood(Mood::down);
  read("read after ttl (loader throws)");
  read("again (throttled: no query)");

  std::printf("3. The database comes back, but slow (600 ms a query)\n");
  std::this_thread::sleep_for(1100ms);  // past the throttle
  db.set_mood(Mood::slow);
  read("read (soft timeout: stale at once)");
  std::this_thread::sleep_for(700ms);   // the load finishes in the background
  read("later (the background result)");

  std::printf("4. Healthy again; a hot key with eager refresh never waits\n");
  db.set_mood(Mood::healthy);
  o.eager_refresh = 0.5;
  std::this_thread::sleep_for(350ms);
  read("first read after ttl");
  long long worst = 0;
  const int before = db.queries();
  const auto end = Clock::now() + 1s;
  while (Clock::now() < end) {
    const auto t0 = Clock::now();
    cache->get_or_set("price:tea", [db = &db] { return db->price("tea"); }, o);
    worst = std::max(worst, ms_since(t0));
    std::this_thread::sleep_for(5ms);
  }
  std::printf("  1 s of reads: slowest %lld ms, %d queries ran in the background\n", worst, db.queries() - before);

  const auto s = cache->stats();
  std::printf("stats: stale_served=%llu loader_timeouts=%llu background_loads=%llu eager_refreshes=%llu\n",
              static_cast<unsigned long long>(s.stale_served), static_cast<unsigned long long>(s.loader_timeouts),
              static_cast<unsigned long long>(s.background_loads),
              static_cast<unsigned long long>(s.eager_refreshes));
  cache->clear();
  return s.stale_served >= 2 && s.eager_refreshes >= 1 ? 0 : 1;
}
