// RedisCache against a real redis-server started by the harness on a free
// loopback port: the conformance suite, then Redis-specific behaviour
// (AUTH, unix sockets, scoped clear, large values, restarts, timeouts, the
// pool, error kinds, stats and rate-limited logging).
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <random>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "cachet/cachet.hpp"
#include "support/captured_log.hpp"
#include "support/conformance.hpp"
#include "support/net.hpp"
#include "support/redis_server.hpp"

using cachet::BackendError;
using cachet::ErrorKind;
using cachet::ErrorPolicy;
using cachet::RedisCache;
using cachet::RedisOptions;
using cachet::Ttl;
using cachet::test::CapturedLog;
using cachet::test::RedisServer;
using cachet::test::unique_prefix;
using namespace std::chrono_literals;

namespace {

// One server per test process, started on first use, shared by the
// conformance fixture and the tests that need nothing special.
RedisServer& shared_server() {
  static std::unique_ptr<RedisServer> server = std::make_unique<RedisServer>();
  return *server;
}

std::unique_ptr<RedisCache> make_cache(const std::string& url, ErrorPolicy policy = ErrorPolicy::FailOpen,
                                       Ttl default_timeout = Ttl::never()) {
  auto o = RedisOptions::from_url(url);
  o.key_prefix = unique_prefix();
  o.on_error = policy;
  o.default_timeout = default_timeout;
  return std::make_unique<RedisCache>(o);
}

// What a Throw-policy operation threw; fails the test when nothing was thrown.
template <class Fn>
BackendError thrown_by(Fn&& fn) {
  try {
    fn();
  } catch (const BackendError& e) {
    return e;
  }
  ADD_FAILURE() << "no BackendError thrown";
  return BackendError(ErrorKind::reply, "");
}

bool has(const std::string& haystack, const std::string& needle) { return haystack.find(needle) != std::string::npos; }


}  // namespace

// ---- the shared conformance suite -------------------------------------------

struct RedisFixture {
  static std::unique_ptr<cachet::Cache> make(Ttl default_timeout) {
    if (!cachet::test::redis_server_available()) {
      if (!cachet::test::skip_redis_tests_requested()) {
        ADD_FAILURE() << "redis-server not found; install it (./tests/run does) or set CACHET_SKIP_REDIS_TESTS=1";
      }
      return nullptr;
    }
    auto o = RedisOptions::from_url(shared_server().url());
    o.key_prefix = unique_prefix();
    o.default_timeout = default_timeout;
    return std::make_unique<RedisCache>(o);
  }
};

using RedisFixtures = ::testing::Types<RedisFixture>;
INSTANTIATE_TYPED_TEST_SUITE_P(Redis, CacheConformance, RedisFixtures);

// ---- Redis-specific ----------------------------------------------------------

class RedisCacheTest : public ::testing::Test {
 protected:
  void SetUp() override { REQUIRE_REDIS(); }
};

TEST_F(RedisCacheTest, KeysAreStoredUnderThePrefix) {
  auto& server = shared_server();
  auto cache = make_cache(server.url());
  const std::string prefix = cache->options().key_prefix;
  ASSERT_TRUE(cache->set("k", std::string("v\0w", 3)));
  EXPECT_EQ(server.command({"STRLEN", prefix + "k"}), "3");
  EXPECT_EQ(server.command({"EXISTS", "k"}), "0");
  ASSERT_TRUE(server.command({"SET", prefix + "foreign", "x"}) == "OK");
  EXPECT_EQ(cache->get("foreign"), std::optional<std::string>("x"));
}

TEST_F(RedisCacheTest, TtlIsMillisecondPreciseNeverAndClamped) {
  auto& server = shared_server();
  auto cache = make_cache(server.url(), ErrorPolicy::Throw, Ttl(7s));
  const std::string prefix = cache->options().key_prefix;
  ASSERT_TRUE(cache->set("default", "x"));
  const long long pttl = std::stoll(server.command({"PTTL", prefix + "default"}));
  EXPECT_GT(pttl, 6000);
  EXPECT_LE(pttl, 7000);
  ASSERT_TRUE(cache->set("never", "x", Ttl::never()));
  EXPECT_EQ(server.command({"PTTL", prefix + "never"}), "-1");
  EXPECT_EQ(cache->ttl("never"), Ttl::never());
  // Longer than any expiry Redis can represent from now: clamped, not rejected.
  ASSERT_TRUE(cache->set("huge", "x", std::chrono::hours::max()));
  auto t = cache->ttl("huge");
  ASSERT_TRUE(t && t->is_finite());
  EXPECT_GT(t->duration(), std::chrono::hours(24 * 365 * 1000));
  EXPECT_TRUE(cache->touch("huge", std::chrono::hours::max()));
  // touch(never) on a key that never expired is still "exists".
  EXPECT_TRUE(cache->touch("never", Ttl::never()));
  EXPECT_FALSE(cache->touch("missing", Ttl::never()));
  EXPECT_EQ(cache->ttl("missing"), std::nullopt);
}

TEST_F(RedisCacheTest, IncrementCreatesCountersWithTheDefaultTimeoutAtomically) {
  auto& server = shared_server();
  auto cache = make_cache(server.url(), ErrorPolicy::Throw, Ttl(60s));
  const std::string prefix = cache->options().key_prefix;
  EXPECT_EQ(cache->increment("c", 5), 5);
  const long long pttl = std::stoll(server.command({"PTTL", prefix + "c"}));
  EXPECT_GT(pttl, 59000);
  EXPECT_EQ(cache->stats().sets, 1u);  // created by increment
  EXPECT_EQ(cache->increment("c", 5), 10);
  EXPECT_EQ(cache->stats().sets, 1u);

  // Not an integer / overflow: the documented nullopt, also under Throw, and
  // not counted as a backend error.
  ASSERT_TRUE(cache->set("text", "abc"));
  EXPECT_EQ(cache->increment("text"), std::nullopt);
  ASSERT_TRUE(cache->set("max", "9223372036854775807"));
  EXPECT_EQ(cache->increment("max"), std::nullopt);
  EXPECT_EQ(cache->stats().errors, 0u);

  // A key of another type is a backend failure (reply), not "not an integer".
  server.command({"RPUSH", prefix + "list", "x"});
  const auto e = thrown_by([&] { cache->increment("list"); });
  EXPECT_EQ(e.kind(), ErrorKind::reply);
  EXPECT_EQ(e.cause(), cachet::ErrorCause::wrong_type);
  EXPECT_FALSE(e.is_outage());  // an answer about one key: the server is fine
  EXPECT_TRUE(has(e.what(), "WRONGTYPE")) << e.what();
}

TEST_F(RedisCacheTest, RequirepassAuth) {
  RedisServer::Options so;
  so.args = {"--requirepass", "s3cret-pw"};
  so.password = "s3cret-pw";
  RedisServer server(so);
  const std::string base = "127.0.0.1:" + std::to_string(server.port()) + "/0";

  auto good = make_cache("redis://:s3cret-pw@" + base, ErrorPolicy::Throw);
  EXPECT_TRUE(good->set("k", "v"));
  EXPECT_EQ(good->get("k"), std::optional<std::string>("v"));
  EXPECT_TRUE(good->ping());

  auto wrong = make_cache("redis://:not-the-pw@" + base, ErrorPolicy::Throw);
  auto e = thrown_by([&] { wrong->get("k"); });
  EXPECT_EQ(e.kind(), ErrorKind::connection);
  EXPECT_EQ(e.cause(), cachet::ErrorCause::auth);
  EXPECT_TRUE(e.is_outage());
  EXPECT_TRUE(has(e.what(), "AUTH failed")) << e.what();
  EXPECT_TRUE(has(e.what(), "WRONGPASS") || has(e.what(), "invalid password")) << e.what();
  EXPECT_FALSE(has(e.what(), "not-the-pw")) << e.what();

  auto none = make_cache("redis://" + base, ErrorPolicy::Throw);
  e = thrown_by([&] { none->set("k", "v"); });
  EXPECT_EQ(e.kind(), ErrorKind::reply);
  EXPECT_EQ(e.cause(), cachet::ErrorCause::auth);
  EXPECT_TRUE(has(e.what(), "NOAUTH")) << e.what();
}

TEST_F(RedisCacheTest, LoadingServerFailsOpenThenServesOnceLoaded) {
  // A real LOADING phase: a server restarted on a saved dataset answers every
  // command with "-LOADING ..." for about 3 s (see loading_server()).
  auto loading = cachet::test::loading_server("t:");
  RedisServer& server = *loading;
  ASSERT_TRUE(has(server.command({"PING"}), "LOADING")) << "the server finished loading before the test could run";

  auto o = RedisOptions::from_url(server.url());
  o.key_prefix = "t:";
  o.on_error = ErrorPolicy::FailOpen;
  RedisCache open(o);
  o.on_error = ErrorPolicy::Throw;
  RedisCache strict(o);

  EXPECT_EQ(open.get("load:1"), std::nullopt);
  EXPECT_FALSE(open.set("fresh", "x"));
  EXPECT_FALSE(open.ping());
  const auto st = open.stats();
  EXPECT_EQ(st.errors_reply, 3u);
  EXPECT_EQ(st.errors, st.errors_reply);
  const auto e = thrown_by([&] { strict.get("load:1"); });
  EXPECT_EQ(e.kind(), ErrorKind::reply);
  EXPECT_EQ(e.cause(), cachet::ErrorCause::loading);
  EXPECT_TRUE(e.is_outage());
  EXPECT_TRUE(has(e.what(), "LOADING")) << e.what();

  // Once loaded, the same caches (the same pooled connections) serve the data.
  const auto deadline = std::chrono::steady_clock::now() + 20s;
  while (has(server.command({"PING"}), "LOADING") && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(50ms);
  }
  ASSERT_EQ(server.command({"PING"}), "PONG");
  EXPECT_EQ(open.get("load:1"), std::optional<std::string>("v1"));
  EXPECT_EQ(strict.get("load:1999"), std::optional<std::string>("v1999"));
  EXPECT_TRUE(open.set("fresh", "x"));
  EXPECT_TRUE(open.ping());
  EXPECT_EQ(open.stats().errors, 3u);
}

TEST_F(RedisCacheTest, AclUserAuth) {
  RedisServer::Options so;
  so.args = {"--user", "alice", "on", ">alice-pw", "~*", "&*", "+@all", "--requirepass", "default-pw"};
  so.password = "default-pw";
  RedisServer server(so);
  const std::string base = "127.0.0.1:" + std::to_string(server.port()) + "/0";

  auto alice = make_cache("redis://alice:alice-pw@" + base, ErrorPolicy::Throw);
  EXPECT_TRUE(alice->set("k", "v"));
  EXPECT_EQ(alice->get("k"), std::optional<std::string>("v"));
  EXPECT_EQ(server.command({"ACL", "WHOAMI"}), "default");  // the harness itself

  auto wrong = make_cache("redis://alice:bob-pw@" + base, ErrorPolicy::Throw);
  const auto e = thrown_by([&] { wrong->get("k"); });
  EXPECT_EQ(e.kind(), ErrorKind::connection);
  EXPECT_TRUE(has(e.what(), "WRONGPASS")) << e.what();
  EXPECT_FALSE(has(e.what(), "bob-pw")) << e.what();
}

TEST_F(RedisCacheTest, DatabaseSelection) {
  auto& server = shared_server();
  auto cache = make_cache(server.url().substr(0, server.url().rfind('/')) + "/3", ErrorPolicy::Throw);
  ASSERT_TRUE(cache->set("k", "v"));
  const std::string key = cache->options().key_prefix + "k";
  EXPECT_EQ(server.command({"EXISTS", key}), "0");  // db 0
  EXPECT_EQ(server.command({"EVAL", "redis.call('SELECT', 3) return redis.call('EXISTS', KEYS[1])", "1", key}), "1");

  auto wrong = make_cache(server.url().substr(0, server.url().rfind('/')) + "/99", ErrorPolicy::Throw);
  const auto e = thrown_by([&] { wrong->get("k"); });
  EXPECT_EQ(e.kind(), ErrorKind::connection);
  EXPECT_TRUE(has(e.what(), "SELECT 99 failed")) << e.what();
  EXPECT_TRUE(has(e.what(), "DB index")) << e.what();

  auto open = make_cache(server.url().substr(0, server.url().rfind('/')) + "/99");
  EXPECT_EQ(open->get("k"), std::nullopt);
  EXPECT_FALSE(open->set("k", "v"));
  const auto s = open->stats();
  EXPECT_EQ(s.errors, 2u);
  EXPECT_EQ(s.errors_connection, 2u);
}

TEST_F(RedisCacheTest, UnixSocket) {
  RedisServer::Options so;
  so.unix_socket = true;
  so.args = {"--requirepass", "sock-pw"};
  so.password = "sock-pw";
  RedisServer server(so);
  auto cache = make_cache("unix://" + server.unix_socket() + "?db=1&password=sock-pw", ErrorPolicy::Throw);
  EXPECT_TRUE(cache->set("k", "over the socket"));
  EXPECT_EQ(cache->get("k"), std::optional<std::string>("over the socket"));
  EXPECT_TRUE(cache->clear());
  EXPECT_FALSE(cache->contains("k"));

  auto missing = make_cache("unix://" + server.dir() + "/nope.sock", ErrorPolicy::Throw);
  const auto e = thrown_by([&] { missing->ping(); });
  EXPECT_EQ(e.kind(), ErrorKind::connection);
  EXPECT_TRUE(has(e.what(), "nope.sock")) << e.what();
}

TEST_F(RedisCacheTest, ClearIsScopedToThePrefixEvenWithGlobCharacters) {
  auto& server = shared_server();
  const std::string base = unique_prefix();
  // For each glob character: the prefix holding it, and a foreign prefix that
  // the unescaped pattern "<prefix>*" would match.
  const std::pair<std::string, std::string> cases[] = {
      {base + "a*:", base + "abc:"},      {base + "b?:", base + "bx:"},   {base + "c[xy]:", base + "cx:"},
      {base + "d\\:", base + "d:"},       {base + "e]:", base + "e]x"},   {base + "f[:", base + "f[x:"},
  };
  server.command({"SET", base + "outside", "1"});
  for (const auto& [mine, foreign] : cases) {
    SCOPED_TRACE(mine);
    RedisOptions o = RedisOptions::from_url(server.url());
    o.on_error = ErrorPolicy::Throw;
    o.key_prefix = mine;
    RedisCache a(o);
    o.key_prefix = foreign;
    RedisCache b(o);
    ASSERT_TRUE(a.set_many({{"1", "x"}, {"2", "x"}}));
    ASSERT_TRUE(b.set_many({{"1", "y"}, {"2", "y"}}));
    EXPECT_TRUE(a.clear());
    EXPECT_FALSE(a.contains("1"));
    EXPECT_FALSE(a.contains("2"));
    EXPECT_TRUE(b.contains("1"));
    EXPECT_TRUE(b.contains("2"));
    EXPECT_TRUE(b.clear());
  }
  EXPECT_EQ(server.command({"GET", base + "outside"}), "1");
}

TEST_F(RedisCacheTest, ClearDeletesManyKeysInBatches) {
  auto& server = shared_server();
  auto cache = make_cache(server.url(), ErrorPolicy::Throw);
  auto other = make_cache(server.url(), ErrorPolicy::Throw);
  std::vector<std::pair<std::string, std::string>> items;
  for (int i = 0; i < 3500; ++i) items.emplace_back("k" + std::to_string(i), "v");
  ASSERT_TRUE(cache->set_many(items, Ttl(60s)));
  ASSERT_TRUE(other->set("survivor", "v"));
  const long long before = server.dbsize();
  EXPECT_TRUE(cache->clear());
  EXPECT_EQ(server.dbsize(), before - 3500);
  EXPECT_EQ(cache->get_many(std::vector<std::string>{"k0", "k1234", "k3499"}),
            (std::vector<std::optional<std::string>>(3)));
  EXPECT_TRUE(other->contains("survivor"));
}

TEST_F(RedisCacheTest, EmptyPrefixClearRefusesUnlessFlushdbIsAllowed) {
  auto& server = shared_server();
  const std::string url = server.url().substr(0, server.url().rfind('/')) + "/7";
  RedisOptions o = RedisOptions::from_url(url);
  o.key_prefix = "";
  CapturedLog log;
  {
    RedisCache cache(o);
    ASSERT_TRUE(cache.set("k", "v"));
    EXPECT_FALSE(cache.clear());
    EXPECT_TRUE(cache.contains("k"));
    EXPECT_EQ(cache.stats().errors, 0u);
  }
  const auto lines = log.lines();
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_TRUE(has(lines[0], "allow_flushdb")) << lines[0];
  o.allow_flushdb = true;
  RedisCache cache(o);
  EXPECT_TRUE(cache.clear());
  EXPECT_EQ(server.dbsize(7), 0);
}

TEST_F(RedisCacheTest, SixtyFourMebibyteValueRoundTripsByteExact) {
  auto& server = shared_server();
  auto cache = make_cache(server.url(), ErrorPolicy::Throw);
  std::string value(std::size_t{64} << 20, '\0');
  std::mt19937_64 rng(42);
  for (std::size_t i = 0; i + 8 <= value.size(); i += 8) {
    const auto r = rng();
    std::memcpy(&value[i], &r, 8);
  }
  ASSERT_TRUE(cache->set("big", value, Ttl(60s)));
  const auto got = cache->get("big");
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->size(), value.size());
  EXPECT_TRUE(*got == value);
  EXPECT_TRUE(cache->remove("big"));
  // The connection is still in step after the large exchange.
  EXPECT_TRUE(cache->set("small", "x"));
  EXPECT_EQ(cache->get("small"), std::optional<std::string>("x"));
}

TEST_F(RedisCacheTest, ReconnectsAfterTheServerRestartsOnTheSamePort) {
  RedisServer server;
  auto o = RedisOptions::from_url(server.url());
  o.key_prefix = unique_prefix();
  o.pool_size = 4;
  RedisCache cache(o);
  // Warm several pooled connections.
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 50; ++i) cache.set("k", "v");
    });
  }
  for (auto& t : threads) t.join();
  ASSERT_EQ(cache.stats().errors, 0u);

  server.restart();
  // The pooled connections are dead; they are replaced without a failed command.
  EXPECT_EQ(cache.get("k"), std::nullopt);  // no persistence: gone, but a clean miss
  EXPECT_TRUE(cache.set("k", "again"));
  EXPECT_EQ(cache.get("k"), std::optional<std::string>("again"));
  EXPECT_EQ(cache.stats().errors, 0u);

  // Down: fail open, fast (connection refused), then up again.
  server.stop();
  EXPECT_FALSE(cache.set("k", "down"));
  EXPECT_GE(cache.stats().errors_connection, 1u);
  server.start();
  EXPECT_TRUE(cache.set("k", "up"));
  EXPECT_EQ(cache.get("k"), std::optional<std::string>("up"));
}

TEST_F(RedisCacheTest, StoppedServerTimesOutWithinSocketTimeoutAndRecovers) {
  RedisServer server;
  auto o = RedisOptions::from_url(server.url());
  o.key_prefix = unique_prefix();
  o.socket_timeout = 300ms;
  RedisCache cache(o);
  ASSERT_TRUE(cache.set("k", "v"));

  server.pause();
  auto t0 = std::chrono::steady_clock::now();
  EXPECT_EQ(cache.get("k"), std::nullopt);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 300ms + 1s);
  EXPECT_EQ(cache.stats().errors_timeout, 1u);

  o.on_error = ErrorPolicy::Throw;
  RedisCache strict(o);
  t0 = std::chrono::steady_clock::now();
  const auto e = thrown_by([&] { strict.get("k"); });
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 300ms + 1s);
  EXPECT_EQ(e.kind(), ErrorKind::timeout);
  EXPECT_TRUE(has(e.what(), "timeout after 300 ms")) << e.what();
  server.resume();

  EXPECT_EQ(cache.get("k"), std::optional<std::string>("v"));
  EXPECT_EQ(strict.get("k"), std::optional<std::string>("v"));
}

TEST_F(RedisCacheTest, ManyThreadsIncrementingOneCounterLoseNothing) {
  auto& server = shared_server();
  auto o = RedisOptions::from_url(server.url());
  o.key_prefix = unique_prefix();
  o.pool_size = 4;
  o.default_timeout = Ttl(60s);
  RedisCache cache(o);
  constexpr int kThreads = 16;
  constexpr int kPerThread = 300;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kPerThread; ++i) cache.increment("counter");
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(cache.get("counter"), std::optional<std::string>(std::to_string(kThreads * kPerThread)));
  EXPECT_EQ(cache.stats().errors, 0u);
  auto t = cache.ttl("counter");
  ASSERT_TRUE(t && t->is_finite());
}

TEST_F(RedisCacheTest, ThrowPolicyReportsTheKind) {
  // Connection refused.
  const int closed = cachet::test::free_loopback_port();
  auto refused = make_cache("redis://:hunter2@127.0.0.1:" + std::to_string(closed) + "/0", ErrorPolicy::Throw);
  auto e = thrown_by([&] { refused->get("k"); });
  EXPECT_EQ(e.kind(), ErrorKind::connection);
  EXPECT_EQ(std::string(e.what()), "connection refused (127.0.0.1:" + std::to_string(closed) + ")");

  // A server that accepts and never answers: the AUTH-less first command times out.
  cachet::test::FakeServer hole(cachet::test::FakeServer::Mode::BlackHole);
  auto o = RedisOptions::from_url(hole.url());
  o.socket_timeout = 200ms;
  o.on_error = ErrorPolicy::Throw;
  RedisCache silent(o);
  e = thrown_by([&] { silent.set("k", "v"); });
  EXPECT_EQ(e.kind(), ErrorKind::timeout);
  EXPECT_TRUE(has(e.what(), "command timeout after 200 ms")) << e.what();

  // Not Redis at all.
  cachet::test::FakeServer garbage(cachet::test::FakeServer::Mode::Garbage);
  auto g = RedisOptions::from_url(garbage.url());
  g.on_error = ErrorPolicy::Throw;
  RedisCache confused(g);
  e = thrown_by([&] { confused.get("k"); });
  EXPECT_EQ(e.kind(), ErrorKind::protocol);
  EXPECT_TRUE(has(e.what(), "protocol error")) << e.what();

  // An error reply.
  auto& server = shared_server();
  auto cache = make_cache(server.url(), ErrorPolicy::Throw);
  server.command({"RPUSH", cache->options().key_prefix + "list", "x"});
  e = thrown_by([&] { cache->get("list"); });
  EXPECT_EQ(e.kind(), ErrorKind::reply);
  EXPECT_TRUE(has(e.what(), "WRONGTYPE")) << e.what();
  // The connection is still usable after an error reply.
  EXPECT_TRUE(cache->set("k", "v"));
}

TEST_F(RedisCacheTest, ConnectTimeoutIsReportedAsTimeout) {
  // A listener that never accepts, its backlog filled: further SYNs go unanswered.
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(::listen(fd, 0), 0);
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  const int port = ntohs(addr.sin_port);
  std::vector<int> fillers;
  for (int i = 0; i < 2; ++i) {
    const int c = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    (void)::connect(c, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    fillers.push_back(c);
  }
  auto o = RedisOptions::from_url("redis://127.0.0.1:" + std::to_string(port) + "/0");
  o.connect_timeout = 200ms;
  o.on_error = ErrorPolicy::Throw;
  RedisCache cache(o);
  const auto t0 = std::chrono::steady_clock::now();
  const auto e = thrown_by([&] { cache.ping(); });
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 200ms + 1s);
  EXPECT_EQ(e.kind(), ErrorKind::timeout);
  EXPECT_EQ(std::string(e.what()), "connect timeout after 200 ms (127.0.0.1:" + std::to_string(port) + ")");
  for (int c : fillers) ::close(c);
  ::close(fd);
}

TEST_F(RedisCacheTest, PoolExhaustion) {
  RedisServer server;
  auto o = RedisOptions::from_url(server.url());
  o.key_prefix = unique_prefix();
  o.pool_size = 1;
  o.pool_wait_timeout = 100ms;
  o.socket_timeout = 1500ms;
  RedisCache cache(o);
  ASSERT_TRUE(cache.set("k", "v"));
  server.pause();
  std::thread holder([&] { cache.get("k"); });  // holds the only connection ~1.5 s
  std::this_thread::sleep_for(200ms);
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_EQ(cache.get("k"), std::nullopt);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 100ms + 1s);
  holder.join();
  server.resume();
  const auto s = cache.stats();
  EXPECT_EQ(s.errors_pool_exhausted, 1u);
  EXPECT_EQ(s.errors_timeout, 1u);
  EXPECT_EQ(s.errors, 2u);
  EXPECT_EQ(cache.get("k"), std::optional<std::string>("v"));
}

TEST_F(RedisCacheTest, FailOpenCountsErrorsByKindAndBehavesAsAMiss) {
  const int closed = cachet::test::free_loopback_port();
  auto cache = make_cache("redis://127.0.0.1:" + std::to_string(closed) + "/0", ErrorPolicy::FailOpen, Ttl(10s));
  EXPECT_EQ(cache->get("k"), std::nullopt);
  EXPECT_FALSE(cache->set("k", "v"));
  EXPECT_FALSE(cache->add("k", "v"));
  EXPECT_FALSE(cache->remove("k"));
  EXPECT_FALSE(cache->contains("k"));
  EXPECT_EQ(cache->get_many({"a", "b"}), (std::vector<std::optional<std::string>>(2)));
  EXPECT_FALSE(cache->set_many({{"a", "1"}, {"b", "2"}}));
  EXPECT_EQ(cache->remove_many({"a", "b"}), 0u);
  EXPECT_EQ(cache->increment("n"), std::nullopt);
  EXPECT_EQ(cache->ttl("k"), std::nullopt);
  EXPECT_FALSE(cache->touch("k"));
  EXPECT_FALSE(cache->clear());
  EXPECT_FALSE(cache->ping());
  EXPECT_EQ(cache->get_or_set("k", [] { return std::string("loaded"); }), "loaded");
  const auto s = cache->stats();
  EXPECT_EQ(s.errors, 16u);  // get_or_set: get, the leader's second get, set
  EXPECT_EQ(s.errors_connection, 16u);
  EXPECT_EQ(s.errors_timeout + s.errors_protocol + s.errors_reply + s.errors_pool_exhausted, 0u);
  EXPECT_EQ(s.sets, 0u);
}

TEST_F(RedisCacheTest, FailuresAreLoggedRateLimitedWithoutThePassword) {
  RedisServer::Options so;
  so.args = {"--requirepass", "right-pw"};
  so.password = "right-pw";
  RedisServer server(so);
  CapturedLog log;
  auto cache = make_cache("redis://:wrong-pw-123@127.0.0.1:" + std::to_string(server.port()) + "/0");
  for (int i = 0; i < 2000; ++i) cache->get("k");
  EXPECT_EQ(cache->stats().errors, 2000u);
  const auto lines = log.lines();
  EXPECT_GE(lines.size(), 1u);
  EXPECT_LE(lines.size(), 10u);
  for (const auto& line : lines) {
    EXPECT_FALSE(has(line, "wrong-pw-123")) << line;
    EXPECT_TRUE(has(line, "redis get failed: AUTH failed")) << line;
  }

  // Nothing is logged on the success path.
  log.out.str("");
  auto good = make_cache("redis://:right-pw@127.0.0.1:" + std::to_string(server.port()) + "/0");
  for (int i = 0; i < 100; ++i) {
    good->set("k", "v");
    good->get("k");
  }
  EXPECT_EQ(log.out.str(), "");
}

TEST_F(RedisCacheTest, ThrowPolicyThrowsFromEveryMethod) {
  const int closed = cachet::test::free_loopback_port();
  auto cache = make_cache("redis://127.0.0.1:" + std::to_string(closed) + "/0", ErrorPolicy::Throw, Ttl(10s));
  int calls = 0;
  auto expect_connection_error = [&](const char* what, auto&& fn) {
    SCOPED_TRACE(what);
    ++calls;
    const auto e = thrown_by(fn);
    EXPECT_EQ(e.kind(), ErrorKind::connection);
    EXPECT_TRUE(has(e.what(), "connection refused")) << e.what();
  };
  expect_connection_error("get", [&] { cache->get("k"); });
  expect_connection_error("set", [&] { cache->set("k", "v"); });
  expect_connection_error("add", [&] { cache->add("k", "v"); });
  expect_connection_error("remove", [&] { cache->remove("k"); });
  expect_connection_error("contains", [&] { cache->contains("k"); });
  expect_connection_error("get_many", [&] { cache->get_many({"a", "b"}); });
  expect_connection_error("set_many", [&] { cache->set_many({{"a", "1"}, {"b", "2"}}); });
  expect_connection_error("set_many never", [&] { cache->set_many({{"a", "1"}}, Ttl::never()); });
  expect_connection_error("remove_many", [&] { cache->remove_many({"a", "b"}); });
  expect_connection_error("increment", [&] { cache->increment("n"); });
  expect_connection_error("decrement", [&] { cache->decrement("n"); });
  expect_connection_error("ttl", [&] { cache->ttl("k"); });
  expect_connection_error("touch", [&] { cache->touch("k"); });
  expect_connection_error("touch never", [&] { cache->touch("k", Ttl::never()); });
  expect_connection_error("clear", [&] { cache->clear(); });
  expect_connection_error("ping", [&] { cache->ping(); });
  expect_connection_error("get_as", [&] { cache->get_as<int>("k"); });
  expect_connection_error("set_as", [&] { cache->set_as<int>("k", 1); });
  bool loaded = false;
  expect_connection_error("get_or_set", [&] {
    cache->get_or_set("k", [&] {
      loaded = true;
      return std::string("v");
    });
  });
  EXPECT_FALSE(loaded);  // the failing get() threw before the loader could run
  const auto s = cache->stats();
  EXPECT_EQ(s.errors, static_cast<std::uint64_t>(calls));
  EXPECT_EQ(s.errors_connection, static_cast<std::uint64_t>(calls));

  // An empty prefix without allow_flushdb is a refusal, not a backend failure: false, no throw.
  auto o = RedisOptions::from_url(shared_server().url());
  o.key_prefix = "";
  o.on_error = ErrorPolicy::Throw;
  RedisCache unscoped(o);
  EXPECT_FALSE(unscoped.clear());
  EXPECT_EQ(unscoped.stats().errors, 0u);
}

namespace {

// A numeric field of INFO <section> ("total_reads_processed", "cmdstat_mget"
// -> its calls=), 0 when absent.
long long info_number(const RedisServer& server, const std::string& section, const std::string& field) {
  const std::string info = server.command({"INFO", section});
  const auto at = info.find(field + ":");
  if (at == std::string::npos) return 0;
  std::string_view rest(info.c_str() + at + field.size() + 1);
  if (rest.substr(0, 6) == "calls=") rest.remove_prefix(6);
  return std::stoll(std::string(rest.substr(0, rest.find_first_not_of("0123456789"))));
}

}  // namespace

TEST_F(RedisCacheTest, BatchOperationsAreOneCommandOrOnePipelinedRoundTrip) {
  RedisServer server;  // its own, so that the server-wide counters below are ours
  auto o = RedisOptions::from_url(server.url());
  o.key_prefix = unique_prefix();
  o.pool_size = 1;
  o.on_error = ErrorPolicy::Throw;
  RedisCache cache(o);
  ASSERT_TRUE(cache.ping());

  constexpr int kItems = 300;
  std::vector<std::pair<std::string, std::string>> items;
  std::vector<std::string> keys;
  for (int i = 0; i < kItems; ++i) {
    items.emplace_back("k" + std::to_string(i), "v" + std::to_string(i));
    keys.push_back("k" + std::to_string(i));
  }
  // total_reads_processed counts the server's socket reads: one request per
  // command would need >= 300 of them; a pipelined batch needs a handful
  // (+1 for each INFO the harness sends on its own connection).
  const auto reads = [&] { return info_number(server, "stats", "total_reads_processed"); };
  auto before = reads();
  ASSERT_GT(before, 0);
  // The meter tells the two apart: 50 single SETs are >= 50 reads.
  for (int i = 0; i < 50; ++i) ASSERT_TRUE(cache.set(keys[i], "single"));
  EXPECT_GE(reads() - before, 50);
  EXPECT_EQ(info_number(server, "commandstats", "cmdstat_set"), 50);
  server.command({"CONFIG", "RESETSTAT"});

  before = reads();
  ASSERT_TRUE(cache.set_many(items, Ttl(60s)));
  EXPECT_LT(reads() - before, 20);
  EXPECT_EQ(info_number(server, "commandstats", "cmdstat_set"), kItems);

  before = reads();
  const auto got = cache.get_many(keys);
  EXPECT_LT(reads() - before, 20);
  ASSERT_EQ(got.size(), static_cast<std::size_t>(kItems));
  EXPECT_EQ(got[123], std::optional<std::string>("v123"));
  EXPECT_EQ(info_number(server, "commandstats", "cmdstat_mget"), 1);

  ASSERT_TRUE(cache.set_many(items, Ttl::never()));
  EXPECT_EQ(info_number(server, "commandstats", "cmdstat_mset"), 1);

  EXPECT_EQ(cache.remove_many(keys), static_cast<std::size_t>(kItems));
  EXPECT_EQ(info_number(server, "commandstats", "cmdstat_unlink"), 1);
  EXPECT_EQ(info_number(server, "commandstats", "cmdstat_del"), 0);
  EXPECT_EQ(info_number(server, "commandstats", "cmdstat_keys"), 0);
  EXPECT_EQ(server.dbsize(), 0);
}

namespace {

// SO_KEEPALIVE of every TCP socket of this process connected to 127.0.0.1:<port>.
std::vector<int> keepalive_of_sockets_to(int port) {
  std::vector<int> out;
  for (int fd = 0; fd < 4096; ++fd) {
    sockaddr_in peer{};
    socklen_t len = sizeof peer;
    if (::getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &len) != 0) continue;
    if (peer.sin_family != AF_INET || ntohs(peer.sin_port) != port) continue;
    int on = 0;
    socklen_t on_len = sizeof on;
    if (::getsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &on, &on_len) == 0) out.push_back(on);
  }
  return out;
}

}  // namespace

TEST_F(RedisCacheTest, TcpKeepaliveIsOnByDefaultAndCanBeTurnedOff) {
  RedisServer server;
  auto o = RedisOptions::from_url(server.url());
  o.key_prefix = unique_prefix();
  o.pool_size = 2;
  {
    RedisCache cache(o);
    ASSERT_TRUE(cache.ping());
    const auto flags = keepalive_of_sockets_to(server.port());
    ASSERT_EQ(flags.size(), 1u);
    EXPECT_EQ(flags[0], 1);
  }
  EXPECT_TRUE(keepalive_of_sockets_to(server.port()).empty());  // closed with the cache
  o.keepalive = false;
  RedisCache cache(o);
  ASSERT_TRUE(cache.ping());
  const auto flags = keepalive_of_sockets_to(server.port());
  ASSERT_EQ(flags.size(), 1u);
  EXPECT_EQ(flags[0], 0);
}

TEST_F(RedisCacheTest, OomAndReadonlyRepliesAreReplyFailures) {
  // OOM: a write the server refuses under maxmemory with noeviction.
  RedisServer server;
  server.command({"CONFIG", "SET", "maxmemory-policy", "noeviction"});
  server.command({"CONFIG", "SET", "maxmemory", "1mb"});
  auto cache = make_cache(server.url(), ErrorPolicy::Throw);
  auto e = thrown_by([&] { cache->set("big", std::string(std::size_t{2} << 20, 'x')); });
  EXPECT_EQ(e.kind(), ErrorKind::reply);
  EXPECT_EQ(e.cause(), cachet::ErrorCause::out_of_memory);
  EXPECT_TRUE(has(e.what(), "OOM")) << e.what();
  EXPECT_EQ(cache->get("big"), std::nullopt);  // reads still work on the same pool

  // READONLY: a write to a replica.
  RedisServer replica;
  replica.command({"REPLICAOF", "127.0.0.1", std::to_string(server.port())});
  auto ro = make_cache(replica.url(), ErrorPolicy::Throw);
  e = thrown_by([&] { ro->set("k", "v"); });
  EXPECT_EQ(e.kind(), ErrorKind::reply);
  EXPECT_EQ(e.cause(), cachet::ErrorCause::read_only);
  EXPECT_TRUE(e.is_outage());
  EXPECT_TRUE(has(e.what(), "READONLY")) << e.what();
  EXPECT_EQ(ro->stats().errors_reply, 1u);
}
