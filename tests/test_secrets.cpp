// Secrets: a password given to cachet never appears in a log line, an
// exception message, or any to_string() / redacted_url() output.
//
// One capturing logger (at trace level, so nothing is filtered out) is
// installed for the whole test; every scenario adds its exception messages and
// printed strings to one corpus. Each test then asserts that the sentinel
// password appears nowhere, in plain or percent-encoded form, and — so that the
// check cannot pass vacuously — that the scenario did produce the messages it
// was meant to produce.
#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "cachet/cachet.hpp"
#include "support/net.hpp"
#include "support/redis_server.hpp"
#include "support/tls_certs.hpp"

using namespace std::chrono_literals;
using cachet::CacheConfig;
using cachet::RedisOptions;
using cachet::test::RedisServer;

namespace {

// Distinctive, and with characters that URLs must percent-encode around it.
constexpr const char* kSecret = "pw-Sentinel-7f3a";

// A readable certificate file, for URLs whose ssl_password must parse.
std::string cert_file() { return cachet::test::TlsCerts::shared().client_cert; }
constexpr const char* kRightPassword = "the-right-one";

class Secrets : public ::testing::Test {
 protected:
  void SetUp() override {
    auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(log_);
    auto lg = std::make_shared<spdlog::logger>("secrets-test", sink);
    lg->set_level(spdlog::level::trace);
    lg->set_pattern("%l %v");
    cachet::set_logger(lg);
  }
  void TearDown() override {
    cachet::set_logger(nullptr);
    std::istringstream lines(log_.str());
    for (std::string line; std::getline(lines, line);) check("log line", line);
  }

  // Fails the test when `text` holds the secret: plain, or percent-encoded
  // ('-' is unreserved, but an encoder may still escape it).
  static void check(const std::string& where, const std::string& text) {
    for (const char* needle : {kSecret, "pw%2DSentinel", "Sentinel-7f3a", "Sentinel%2D7f3a"}) {
      if (text.find(needle) != std::string::npos) {
        ADD_FAILURE() << "password leaked (" << where << "): " << text;
        return;
      }
    }
  }

  // Records the message of whatever `f` throws; fails when it throws nothing
  // and `must_throw`.
  void collect(const std::function<void()>& f, bool must_throw = true, const std::string& input = "") {
    try {
      f();
      if (must_throw) ADD_FAILURE() << "expected an exception" << (input.empty() ? "" : " for " + input);
    } catch (const std::exception& e) {
      ++exceptions_;
      texts_ += std::string(e.what()) + "\n";
      check("exception message" + (input.empty() ? std::string() : " for input " + input), e.what());
    }
  }
  void text(const std::string& s) {
    texts_ += s + "\n";
    check("printed text", s);
  }
  std::string log() const { return log_.str(); }
  std::string everything() const { return log_.str() + texts_; }
  int exceptions() const { return exceptions_; }

  static std::string url_with_secret(const std::string& host_port, const std::string& user = "") {
    return "redis://" + user + ":" + kSecret + "@" + host_port + "/0";
  }

 private:
  std::ostringstream log_;
  std::string texts_;
  int exceptions_ = 0;
};

// Every verb, once, on a cache that cannot work.
void exercise(cachet::Cache& c) {
  (void)c.get("k");
  (void)c.set("k", "v");
  (void)c.add("k2", "v");
  (void)c.remove("k");
  (void)c.contains("k");
  (void)c.get_many({"a", "b"});
  (void)c.set_many({{"a", "1"}});
  (void)c.remove_many({"a"});
  (void)c.increment("n");
  (void)c.ttl("k");
  (void)c.touch("k", 1s);
  (void)c.clear();
  (void)c.ping();
}

RedisOptions options(const std::string& url, cachet::ErrorPolicy policy) {
  auto o = RedisOptions::from_url(url);
  o.on_error = policy;
  o.connect_timeout = 500ms;
  o.socket_timeout = 1s;
  return o;
}

TEST_F(Secrets, WrongPassword) {
  REQUIRE_REDIS();
  RedisServer::Options so;
  so.args = {"--requirepass", kRightPassword};
  so.password = kRightPassword;
  RedisServer server(so);
  const std::string hp = "127.0.0.1:" + std::to_string(server.port());
  for (const std::string& url : {url_with_secret(hp), url_with_secret(hp, "alice"), url_with_secret(hp, "default")}) {
    SCOPED_TRACE(url.substr(0, url.find(':', 8)));
    cachet::RedisCache open(options(url, cachet::ErrorPolicy::FailOpen));
    exercise(open);
    EXPECT_GT(open.stats().errors, 0u);
    text(open.stats().to_string());
    text(open.options().to_string());
    text(open.options().redacted_url());
    cachet::RedisCache strict(options(url, cachet::ErrorPolicy::Throw));
    collect([&] { strict.get("k"); });
    collect([&] { strict.set("k", "v"); });
    collect([&] { strict.ping(); });
  }
  EXPECT_EQ(exceptions(), 9);
  EXPECT_NE(log(), "") << "a failing FailOpen cache must log";
  // The right password works (so the failures above were about the password).
  cachet::RedisCache good(options("redis://:" + std::string(kRightPassword) + "@" + hp + "/0", cachet::ErrorPolicy::Throw));
  EXPECT_TRUE(good.ping());
}

TEST_F(Secrets, UnreachableHost) {
  const int port = cachet::test::free_loopback_port();  // closed: nothing listens there
  const std::string url = url_with_secret("127.0.0.1:" + std::to_string(port), "bob");
  cachet::RedisCache open(options(url, cachet::ErrorPolicy::FailOpen));
  exercise(open);
  EXPECT_GT(open.stats().errors_connection, 0u);
  cachet::RedisCache strict(options(url, cachet::ErrorPolicy::Throw));
  collect([&] { strict.get("k"); });
  collect([&] { strict.increment("n"); });
  EXPECT_EQ(exceptions(), 2);
  EXPECT_NE(log(), "");
  EXPECT_NE(everything().find(std::to_string(port)), std::string::npos) << "messages should name the endpoint";
}

TEST_F(Secrets, MalformedUrlsContainingAPassword) {
  const std::string s = kSecret;
  const std::vector<std::string> urls = {
      "redis://:" + s + "@localhost:99999/0",                 // bad port
      "redis://:" + s + "@localhost:http/0",                  // port not a number
      "redis://user:" + s + "@localhost:6379/zero",           // bad db
      "redis://:" + s + "@localhost:6379/0?nope=1",           // unknown query key
      "redis://:" + s + "@localhost:6379/0?db",               // query key without a value
      "redis://:" + s + "@localhost:6379/0?connect_timeout=0",  // out of range
      "rediss://:" + s + "@localhost:6380/0?ssl_cert_reqs=x",  // TLS: a bad ssl_* value
      "REDISS://u:" + s + "@localhost?nope=1",                // same scheme in upper case, unknown key
      "rediss://localhost?ssl_password=" + s,                 // a key passphrase without a certificate
      "rediss://localhost?ssl_password=" + s + "&ssl_nope=1",  // ... and an unknown ssl_* key
      "rediss://localhost?ssl_nope=1&SSL_PASSWORD=" + s,      // ... in either order and letter case
      "rediss+cluster://h1?ssl_certfile=/nonexistent&ssl_password=" + s,  // unreadable certificate
      "http://:" + s + "@localhost",                          // unknown scheme
      "redis://" + s + "@localhost",                          // password without ':'
      "redis://:" + s + "@[::1:6379",                         // missing ']'
      "redis://:" + s + "@::1:6379",                          // IPv6 without brackets
      "redis://:" + s + "@/0",                                // no host
      "redis://:" + s + "%zz@localhost",                      // bad percent-encoding in the password
      "redis://:" + s + "#frag@localhost",                    // '#' in the password
      "redis://:" + s + "/x@localhost",                       // '/' in the password
      "redis://:" + s + "?x@localhost",                       // '?' in the password
      "redis://localhost:6379/0?PASSWORD=" + s + "&nope=1",   // upper-case query key
      "redis://:" + s + "@localhost#frag",                    // fragment
      "redis://:p@ss:" + s + "@localhost:1/x",                // '@' inside the password, then bad db
      "redis://localhost:6379/0?password=" + s + "&nope=1",   // password as a query value
      "redis://localhost:6379/0?nope=1&password=" + s,        // same, after the bad key
      "redis://localhost:6379/x?password=" + s,               // ... and a bad db
      "unix:///tmp/redis.sock?password=" + s + "&db=x",       // unix socket, bad db
      "unix://relative.sock?password=" + s,                   // not an absolute path
      "unix:///tmp/redis.sock?username=u&password=" + s + "&pool_size=-1",
      "redis://u:" + s + "@localhost/0?username=&pool_size=99999",
      "u:" + s + "@localhost:6379/0",                         // no scheme at all
      ":" + s + "@localhost",                                 // same, password only
      "redis://localhost/0?db=1?password=" + s,               // a second '?' before the password
  };
  for (const auto& url : urls) {
    collect([&] { RedisOptions::from_url(url); }, true, "from_url(" + url + ")");
    // The same URL through CacheConfig (REDIS_URL is read for CACHE_TYPE=redis).
    collect([&] { CacheConfig::from_map({{"CACHE_TYPE", "redis"}, {"REDIS_URL", url}}); }, true,
            "from_map(REDIS_URL=" + url + ")");
  }
  EXPECT_EQ(exceptions(), static_cast<int>(2 * urls.size()));
  // The messages still say what is wrong.
  const std::string all = everything();
  for (const char* expected : {"99999", "zero", "nope", "rediss", "***", "ssl_cert_reqs", "ssl_password"}) {
    EXPECT_NE(all.find(expected), std::string::npos) << "no message mentions '" << expected << "'";
  }
}

TEST_F(Secrets, PrintedOptionsAndConfigAreRedacted) {
  const std::string s = kSecret;
  for (const std::string& url :
       {"redis://:" + s + "@localhost:6379/0", "redis://alice:" + s + "@[::1]:6380/2?socket_timeout=2s",
        "redis://localhost/0?password=" + s, "unix:///tmp/r.sock?username=u&password=" + s,
        "redis://:" + std::string("pw%2DSentinel-7f3a") + "@localhost", "redis://:" + s + "%40x@h:1/0",
        "rediss://:" + s + "@localhost?ssl_certfile=" + cert_file() + "&ssl_password=" + s}) {
    const auto o = RedisOptions::from_url(url);
    EXPECT_NE(o.password.find("Sentinel"), std::string::npos) << "the password must reach the options";
    text(o.to_string());
    text(o.redacted_url());
    EXPECT_NE(o.redacted_url().find("***"), std::string::npos) << o.redacted_url();
    const auto c = CacheConfig::from_map({{"CACHE_TYPE", "redis"}, {"REDIS_URL", url}});
    text(c.to_string());
    text(c.redis_options().to_string());
    text(c.redis_options().redacted_url());
  }
  RedisOptions direct;
  direct.password = s;
  direct.username = "u";
  text(direct.to_string());
  text(direct.redacted_url());
  // Options that fail validation with a password set.
  direct.port = 0;
  collect([&] { direct.validate(); });
  collect([&] { cachet::RedisCache c(direct); });
}

TEST_F(Secrets, FactoryFallbackReasonsAndErrors) {
  const int port = cachet::test::free_loopback_port();
  const std::string url = url_with_secret("127.0.0.1:" + std::to_string(port));
  auto config = [&](const char* fallback) {
    auto c = CacheConfig::from_map({{"CACHE_TYPE", "redis"},
                                    {"REDIS_URL", url},
                                    {"CACHE_FALLBACK", fallback},
                                    {"CACHE_REDIS_CONNECT_TIMEOUT", "300"},
                                    {"CACHE_REDIS_SOCKET_TIMEOUT", "300"}});
    text(c.to_string());
    return c;
  };
  {
    cachet::CacheFactory f(config("startup"));
    auto cache = f.create();
    ASSERT_TRUE(cache);
    EXPECT_TRUE(f.report().fell_back);
    EXPECT_NE(f.report().reason, "");
    text(f.report().reason);
    exercise(*cache);
  }
  {
    cachet::CacheFactory f(config("none"));
    collect([&] { f.create(); });
    text(f.report().reason);
  }
  {
    cachet::CacheFactory f(config("runtime"));
    auto cache = f.create();
    ASSERT_TRUE(cache);
    text(f.report().reason);
    exercise(*cache);
    text(cache->stats().to_string());
  }
  {
    cachet::FactoryReport report;
    auto cache = cachet::create_cache_with_fallback(config("startup"), &report);
    text(report.reason);
  }
  EXPECT_EQ(exceptions(), 1);
  EXPECT_NE(log(), "") << "falling back must be logged";
}

TEST_F(Secrets, FactoryWithAWrongPassword) {
  REQUIRE_REDIS();
  RedisServer::Options so;
  so.args = {"--requirepass", kRightPassword};
  so.password = kRightPassword;
  RedisServer server(so);
  const std::string url = url_with_secret("127.0.0.1:" + std::to_string(server.port()));
  for (const char* fallback : {"startup", "none", "runtime"}) {
    auto config = CacheConfig::from_map({{"CACHE_TYPE", "redis"}, {"REDIS_URL", url}, {"CACHE_FALLBACK", fallback}});
    cachet::CacheFactory f(config);
    collect([&] {
      auto cache = f.create();
      exercise(*cache);
    }, /*must_throw=*/std::string(fallback) == "none");
    text(f.report().reason);
    if (std::string(fallback) == "startup") {
      EXPECT_TRUE(f.report().fell_back);
    }
  }
  EXPECT_NE(log(), "");
}

}  // namespace

TEST_F(Secrets, ClusterAndSentinelPasswordsAreRedacted) {
  const std::string s = kSecret;
  for (const std::string& url :
       {"redis+cluster://:" + s + "@h1:7000,h2:7001", "redis+sentinel://s1,s2:26380/mymaster?sentinel_password=" + s,
        "redis+sentinel://u:" + s + "@s1/mymaster/2?sentinel_username=su&sentinel_password=" + s}) {
    const auto o = RedisOptions::from_url(url);
    EXPECT_TRUE(o.password == s || o.sentinel_password == s) << "the password must reach the options";
    text(o.to_string());
    text(o.redacted_url());
    EXPECT_NE(o.redacted_url().find("***"), std::string::npos) << o.redacted_url();
    EXPECT_EQ(RedisOptions::from_url(o.redacted_url()).nodes, o.nodes);
    const auto c = CacheConfig::from_map({{"CACHE_TYPE", "redis"}, {"REDIS_URL", url}});
    text(c.to_string());
    text(c.redis_options().redacted_url());
    // A malformed variant quotes the URL in its message.
    collect([&] { RedisOptions::from_url(url + "&bogus=1"); }, true, url);
  }
  const auto flask = CacheConfig::from_map({{"CACHE_TYPE", "RedisClusterCache"},
                                            {"CACHE_REDIS_CLUSTER", "h1:7000"},
                                            {"CACHE_REDIS_PASSWORD", s}});
  EXPECT_EQ(flask.redis_options().password, s);
  text(flask.to_string());
  text(flask.redis_options().to_string());
  collect([&] {
    CacheConfig::from_map(
        {{"CACHE_TYPE", "RedisClusterCache"}, {"REDIS_URL", "redis+cluster://:other@h:1"}, {"CACHE_REDIS_PASSWORD", s}});
  });
}
