// The ten fault scenarios of the runtime fail-safe (test_fallback.cpp) with a
// HybridCache as the primary, built by the factory as services get it
// (CACHE_TYPE=hybrid, CACHE_FALLBACK=runtime: L1 over a FallbackCache whose
// secondary is that L1). In each: no operation throws or blocks past its
// bound; writes during the fault are served from memory and replayed; after
// recovery Redis holds them, L1 is back in use and a change by a writer
// outside cachet reaches it within the invalidation window.
#include <gtest/gtest.h>
#include <hiredis/hiredis.h>

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "cachet/cachet.hpp"
#include "support/bounded.hpp"
#include "support/net.hpp"
#include "support/redis_server.hpp"

using cachet::test::FakeServer;
using cachet::test::RedisServer;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace {

// One operation's bound: connect + command timeouts, a pool wait, and slack
// for a loaded (or sanitized) build.
constexpr auto kOpBound = 100ms + 200ms + 200ms + 1500ms;

// What is on the port, and how the fault comes and goes.
struct Scene {
  int port = 0;
  std::unique_ptr<RedisServer> server;  // null while something else holds the port
  std::unique_ptr<FakeServer> fake;
  redisContext* admin = nullptr;  // a connection of the test's own (maxclients)
  bool healthy_at_start = true;
  std::function<void(Scene&)> inject = [](Scene&) {};
  std::function<void(Scene&)> heal = [](Scene&) {};

  ~Scene() {
    if (admin != nullptr) redisFree(admin);
  }
  // A real Redis on `port` (after a fake one, or nothing, held it).
  void redis_on_port() {
    fake.reset();
    RedisServer::Options o;
    o.port = port;
    server = std::make_unique<RedisServer>(o);
  }
  std::string admin_run(const std::vector<std::string>& args) {
    std::vector<const char*> argv;
    std::vector<size_t> lens;
    for (const auto& a : args) {
      argv.push_back(a.data());
      lens.push_back(a.size());
    }
    auto* r = static_cast<redisReply*>(redisCommandArgv(admin, static_cast<int>(argv.size()), argv.data(), lens.data()));
    std::string out = r != nullptr && r->str != nullptr ? std::string(r->str, r->len) : "";
    if (r != nullptr) freeReplyObject(r);
    return out;
  }
};

using SceneMaker = std::function<std::unique_ptr<Scene>(const std::string& prefix)>;

std::unique_ptr<Scene> with_redis() {
  auto s = std::make_unique<Scene>();
  s->server = std::make_unique<RedisServer>();
  s->port = s->server->port();
  return s;
}

std::unique_ptr<Scene> with_fake(FakeServer::Mode mode) {
  auto s = std::make_unique<Scene>();
  s->fake = std::make_unique<FakeServer>(mode);
  s->port = s->fake->port();
  s->healthy_at_start = false;
  s->heal = [](Scene& sc) { sc.redis_on_port(); };
  return s;
}

struct Case {
  const char* name;
  SceneMaker make;
};

const std::vector<Case>& cases() {
  static const std::vector<Case> all = {
      {"ServerKilledAndRestarted",
       [](const std::string&) {
         auto s = with_redis();
         s->inject = [](Scene& sc) { sc.server->kill(); };
         s->heal = [](Scene& sc) { sc.server->start(); };
         return s;
       }},
      {"ServerStillLoadingItsDataset",
       [](const std::string& prefix) {
         auto s = std::make_unique<Scene>();
         s->server = cachet::test::loading_server(prefix);
         s->port = s->server->port();
         s->healthy_at_start = false;  // LOADING until its dataset is read; heals by itself
         return s;
       }},
      {"ServerStoppedThenContinued",
       [](const std::string&) {
         auto s = with_redis();
         s->inject = [](Scene& sc) { sc.server->pause(); };
         s->heal = [](Scene& sc) { sc.server->resume(); };
         return s;
       }},
      {"BlackHoleListener", [](const std::string&) { return with_fake(FakeServer::Mode::BlackHole); }},
      {"ClientKill",
       [](const std::string&) {
         auto s = with_redis();
         s->inject = [](Scene& sc) { sc.server->command({"CLIENT", "KILL", "TYPE", "normal", "SKIPME", "yes"}); };
         return s;
       }},
      {"ClientPause",
       [](const std::string&) {
         auto s = with_redis();
         s->inject = [](Scene& sc) { sc.server->command({"CLIENT", "PAUSE", "1500", "ALL"}); };
         return s;
       }},
      {"MaxClientsReached",
       [](const std::string&) {
         auto s = with_redis();
         s->admin = redisConnectWithTimeout("127.0.0.1", s->port, timeval{2, 0});
         s->inject = [](Scene& sc) {
           sc.admin_run({"CONFIG", "SET", "maxclients", "1"});
           sc.admin_run({"CLIENT", "KILL", "TYPE", "normal", "SKIPME", "yes"});
         };
         s->heal = [](Scene& sc) { sc.admin_run({"CONFIG", "SET", "maxclients", "1000"}); };
         return s;
       }},
      {"OutOfMemoryOnWrites",
       [](const std::string&) {
         auto s = with_redis();
         s->inject = [](Scene& sc) {
           sc.server->command({"SET", "filler", std::string(4 << 20, 'x')});
           sc.server->command({"CONFIG", "SET", "maxmemory-policy", "noeviction"});
           sc.server->command({"CONFIG", "SET", "maxmemory", "1mb"});
         };
         s->heal = [](Scene& sc) { sc.server->command({"CONFIG", "SET", "maxmemory", "0"}); };
         return s;
       }},
      {"PasswordChangesUnderTheService",
       [](const std::string&) {
         auto s = with_redis();
         s->inject = [](Scene& sc) {
           sc.server->command({"CONFIG", "SET", "requirepass", "rotated-secret"});
           sc.server->set_password("rotated-secret");
           sc.server->command({"CLIENT", "KILL", "TYPE", "normal", "SKIPME", "yes"});
         };
         s->heal = [](Scene& sc) {
           sc.server->command({"CONFIG", "SET", "requirepass", ""});
           sc.server->set_password("");
         };
         return s;
       }},
      {"NonRedisServerOnThePort", [](const std::string&) { return with_fake(FakeServer::Mode::Garbage); }},
      {"RedisAppearsAfterStartup",
       [](const std::string&) {
         auto s = std::make_unique<Scene>();
         s->port = cachet::test::free_loopback_port();
         s->healthy_at_start = false;
         s->heal = [](Scene& sc) { sc.redis_on_port(); };
         return s;
       }},
  };
  return all;
}

class HybridUnderFaults : public ::testing::TestWithParam<Case> {
 protected:
  void SetUp() override { REQUIRE_REDIS(); }
};

template <class F>
auto timed(F&& op) {
  return cachet::test::within(std::chrono::duration_cast<std::chrono::milliseconds>(kOpBound), op);
}

template <class Pred>
bool eventually(Pred pred, std::chrono::milliseconds limit) {
  const auto deadline = Clock::now() + limit;
  while (Clock::now() < deadline) {
    if (pred()) return true;
    std::this_thread::sleep_for(20ms);
  }
  return pred();
}

}  // namespace

TEST_P(HybridUnderFaults, ServesFromMemoryReplaysAndStaysCoherent) {
  const std::string prefix = cachet::test::unique_prefix();
  auto scene = GetParam().make(prefix);
  cachet::CacheFactory factory(cachet::CacheConfig::from_map({{"CACHE_TYPE", "hybrid"},
                                                               {"REDIS_URL", "redis://127.0.0.1:" +
                                                                                 std::to_string(scene->port) + "/0"},
                                                               {"CACHE_KEY_PREFIX", prefix},
                                                               {"CACHE_FALLBACK", "runtime"},
                                                               {"CACHE_BREAKER_THRESHOLD", "3"},
                                                               {"CACHE_BREAKER_COOLDOWN", "200ms"},
                                                               {"CACHE_REDIS_CONNECT_TIMEOUT", "100"},
                                                               {"CACHE_REDIS_SOCKET_TIMEOUT", "200"},
                                                               {"CACHE_L1_HEARTBEAT", "200ms"}}));
  auto cache = factory.create();
  auto& hybrid = dynamic_cast<cachet::HybridCache&>(*cache);
  EXPECT_EQ(factory.report().backend, "hybrid");
  if (scene->healthy_at_start) {
    ASSERT_TRUE(cache->set("k", "before"));
    ASSERT_TRUE(cache->set("gone", "x"));
    ASSERT_EQ(cache->get("k"), std::optional<std::string>("before"));
  }

  scene->inject(*scene);
  // During the fault: every operation returns within its bound; writes are
  // served from memory (the L1) and read back.
  for (int i = 0; i < 6; ++i) {
    timed([&] { return cache->set("k", "during"); });
    timed([&] { return cache->get("k"); });
  }
  EXPECT_TRUE(timed([&] { return cache->set("k", "during"); }));
  EXPECT_EQ(timed([&] { return cache->get("k"); }), std::optional<std::string>("during"));
  timed([&] { return cache->remove("gone"); });
  EXPECT_FALSE(timed([&] { return cache->get("gone"); }).has_value());
  std::this_thread::sleep_for(300ms);
  scene->heal(*scene);

  // Recovered: the journal replayed, L1 in use again.
  RedisServer& server = *scene->server;
  ASSERT_TRUE(eventually(
      [&] {
        cache->get("k");  // traffic drives the breaker's recovery
        return server.command({"GET", prefix + "k"}) == "during" && server.command({"EXISTS", prefix + "gone"}) == "0" &&
               hybrid.hybrid_stats().l1_in_use;
      },
      20s))
      << "after the fault: GET k = " << server.command({"GET", prefix + "k"}) << "; "
      << hybrid.hybrid_stats().to_string();
  EXPECT_EQ(cache->get("k"), std::optional<std::string>("during"));
  EXPECT_FALSE(cache->get("gone").has_value());

  // Coherent again: a writer outside cachet reaches the L1.
  ASSERT_TRUE(eventually([&] { return cache->get("k") == std::optional<std::string>("during"); }, 2s));
  ASSERT_EQ(server.command({"SET", prefix + "k", "outside"}), "OK");
  EXPECT_TRUE(eventually([&] { return cache->get("k") == std::optional<std::string>("outside"); }, 1500ms))
      << hybrid.hybrid_stats().to_string();
}

INSTANTIATE_TEST_SUITE_P(TenScenarios, HybridUnderFaults, ::testing::ValuesIn(cases()),
                         [](const ::testing::TestParamInfo<Case>& p) { return std::string(p.param.name); });
