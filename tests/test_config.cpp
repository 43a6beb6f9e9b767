// CacheConfig: every key from a map and from the environment, the defaults,
// each kind of malformed value, the production rule, and the redaction of
// REDIS_URL passwords in messages and in to_string().
#include <gtest/gtest.h>

#include <cstdlib>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "cachet/cachet.hpp"
#include "support/tls_certs.hpp"

using namespace std::chrono_literals;
using cachet::CacheConfig;
using cachet::CacheType;
using cachet::ConfigError;
using cachet::FallbackMode;
using Map = std::map<std::string, std::string>;

namespace {

const std::vector<std::string> kAllKeys = {
    "CACHE_TYPE",       "REDIS_URL",        "CACHE_KEY_PREFIX",      "CACHE_DEFAULT_TIMEOUT",
    "CACHE_THRESHOLD",  "CACHE_MAX_BYTES",  "CACHE_REDIS_CONNECT_TIMEOUT", "CACHE_REDIS_SOCKET_TIMEOUT",
    "CACHE_REDIS_POOL_SIZE", "CACHE_FALLBACK", "CACHE_BREAKER_THRESHOLD", "CACHE_BREAKER_COOLDOWN",
    "CACHE_JOURNAL_MAX", "APP_ENV",         "CACHE_ENV",
    "CACHE_REDIS_TLS_CA_CERTS", "CACHE_REDIS_TLS_CERTFILE", "CACHE_REDIS_TLS_KEYFILE", "CACHE_REDIS_TLS_CERT_REQS",
    "CACHE_REDIS_TLS_CHECK_HOSTNAME", "CACHE_REDIS_TLS_SERVER_NAME",
};

// Saves every variable cachet reads, clears them (so the ambient environment
// cannot leak into a test), and restores them exactly on destruction.
class EnvGuard {
 public:
  EnvGuard() {
    for (const auto& k : kAllKeys) {
      const char* v = std::getenv(k.c_str());
      saved_.emplace_back(k, v ? std::optional<std::string>(v) : std::nullopt);
      ::unsetenv(k.c_str());
    }
  }
  ~EnvGuard() {
    for (const auto& [k, v] : saved_) {
      if (v) ::setenv(k.c_str(), v->c_str(), 1);
      else ::unsetenv(k.c_str());
    }
  }
  EnvGuard(const EnvGuard&) = delete;
  EnvGuard& operator=(const EnvGuard&) = delete;

  void set(const std::string& k, const std::string& v) { ::setenv(k.c_str(), v.c_str(), 1); }

 private:
  std::vector<std::pair<std::string, std::optional<std::string>>> saved_;
};

// The ConfigError message for `values`, or a test failure when none is thrown.
std::string config_error(const Map& values) {
  try {
    CacheConfig::from_map(values);
  } catch (const ConfigError& e) {
    return e.what();
  }
  ADD_FAILURE() << "no ConfigError for the map";
  return {};
}

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

// A malformed value: the message names the key, the value and what is accepted.
void expect_rejected(const std::string& key, const std::string& value, Map extra = {}) {
  SCOPED_TRACE(key + "=\"" + value + "\"");
  extra[key] = value;
  const std::string msg = config_error(extra);
  EXPECT_TRUE(contains(msg, key)) << msg;
  if (!value.empty()) {
    EXPECT_TRUE(contains(msg, "\"" + value.substr(0, 60))) << msg;
  } else {
    EXPECT_TRUE(contains(msg, "empty")) << msg;
  }
  EXPECT_TRUE(contains(msg, "accepted")) << msg;
}

}  // namespace

TEST(CacheConfig, DefaultsFromAnEmptyMap) {
  const auto c = CacheConfig::from_map({});
  EXPECT_EQ(c.type, CacheType::simple);
  EXPECT_EQ(c.redis_url, "redis://localhost:6379/0");
  EXPECT_FALSE(c.redis_url_set);
  EXPECT_EQ(c.key_prefix, "cachet:");
  EXPECT_FALSE(c.key_prefix_set);
  EXPECT_EQ(c.default_timeout, cachet::Ttl(300s));
  EXPECT_EQ(c.threshold, 10'000u);
  EXPECT_EQ(c.max_bytes, std::size_t{64} << 20);
  EXPECT_FALSE(c.redis_connect_timeout.has_value());
  EXPECT_FALSE(c.redis_socket_timeout.has_value());
  EXPECT_FALSE(c.redis_pool_size.has_value());
  EXPECT_EQ(c.fallback, FallbackMode::runtime);
  EXPECT_EQ(c.breaker_threshold, 3);
  EXPECT_EQ(c.breaker_cooldown, 5000ms);
  EXPECT_EQ(c.journal_max, 10'000u);
  EXPECT_EQ(c.environment, "");
  EXPECT_FALSE(c.production());
}

TEST(CacheConfig, EveryKeyFromAMap) {
  const auto c = CacheConfig::from_map({
      {"CACHE_TYPE", "redis"},
      {"REDIS_URL", "redis://127.0.0.1:6390/3"},
      {"CACHE_KEY_PREFIX", "svc:"},
      {"CACHE_DEFAULT_TIMEOUT", "60"},
      {"CACHE_THRESHOLD", "500"},
      {"CACHE_MAX_BYTES", "1048576"},
      {"CACHE_REDIS_CONNECT_TIMEOUT", "100"},
      {"CACHE_REDIS_SOCKET_TIMEOUT", "2s"},
      {"CACHE_REDIS_POOL_SIZE", "4"},
      {"CACHE_FALLBACK", "none"},
      {"CACHE_BREAKER_THRESHOLD", "7"},
      {"CACHE_BREAKER_COOLDOWN", "1500"},
      {"CACHE_JOURNAL_MAX", "123"},
      {"APP_ENV", "Staging"},
      {"SOMETHING_ELSE", "ignored"},
  });
  EXPECT_EQ(c.type, CacheType::redis);
  EXPECT_EQ(c.redis_url, "redis://127.0.0.1:6390/3");
  EXPECT_TRUE(c.redis_url_set);
  EXPECT_EQ(c.key_prefix, "svc:");
  EXPECT_TRUE(c.key_prefix_set);
  EXPECT_EQ(c.default_timeout, cachet::Ttl(60s));
  EXPECT_EQ(c.threshold, 500u);
  EXPECT_EQ(c.max_bytes, 1048576u);
  EXPECT_EQ(c.redis_connect_timeout, std::optional<std::chrono::milliseconds>(100ms));
  EXPECT_EQ(c.redis_socket_timeout, std::optional<std::chrono::milliseconds>(2000ms));
  EXPECT_EQ(c.redis_pool_size, std::optional<int>(4));
  EXPECT_EQ(c.fallback, FallbackMode::none);
  EXPECT_EQ(c.breaker_threshold, 7);
  EXPECT_EQ(c.breaker_cooldown, 1500ms);
  EXPECT_EQ(c.journal_max, 123u);
  EXPECT_EQ(c.environment, "staging");

  const auto r = c.redis_options();
  EXPECT_EQ(r.host, "127.0.0.1");
  EXPECT_EQ(r.port, 6390);
  EXPECT_EQ(r.db, 3);
  EXPECT_EQ(r.key_prefix, "svc:");
  EXPECT_EQ(r.default_timeout, cachet::Ttl(60s));
  EXPECT_EQ(r.connect_timeout, 100ms);
  EXPECT_EQ(r.socket_timeout, 2000ms);
  EXPECT_EQ(r.pool_size, 4);

  const auto s = c.simple_options();
  EXPECT_EQ(s.max_items, 500u);
  EXPECT_EQ(s.max_bytes, 1048576u);
  EXPECT_EQ(s.default_timeout, cachet::Ttl(60s));
}

TEST(CacheConfig, CacheTypeSpellingsAreCaseInsensitive) {
  const std::vector<std::pair<std::string, CacheType>> cases = {
      {"simple", CacheType::simple}, {"SIMPLE", CacheType::simple},     {"SimpleCache", CacheType::simple},
      {"redis", CacheType::redis},   {"RedisCache", CacheType::redis},  {"rEdIs", CacheType::redis},
      {"null", CacheType::null},     {"NullCache", CacheType::null},    {"NULL", CacheType::null},
      {"hybrid", CacheType::hybrid}, {"HybridCache", CacheType::hybrid}, {"HYBRID", CacheType::hybrid},
  };
  for (const auto& [text, type] : cases) {
    EXPECT_EQ(CacheConfig::from_map({{"CACHE_TYPE", text}}).type, type) << text;
  }
  for (const std::string bad : {"memcached", "simple ", " redis", "filesystem", "redis-cache"}) {
    expect_rejected("CACHE_TYPE", bad);
  }
  const std::string msg = config_error({{"CACHE_TYPE", "memcached"}});
  EXPECT_TRUE(contains(msg, "simple, redis, null or hybrid")) << msg;
  expect_rejected("CACHE_TYPE", "");
}

TEST(CacheConfig, HybridKeys) {
  const auto c = CacheConfig::from_map({{"CACHE_TYPE", "hybrid"},
                                        {"REDIS_URL", "redis://127.0.0.1:6390/0"},
                                        {"CACHE_L1_MAX_ITEMS", "500"},
                                        {"CACHE_L1_MAX_BYTES", "1MiB"},
                                        {"CACHE_L1_MAX_TTL", "5s"},
                                        {"CACHE_L1_INVALIDATION", "Tracking"},
                                        {"CACHE_L1_HEARTBEAT", "250ms"}});
  EXPECT_EQ(c.l1_max_items, 500u);
  EXPECT_EQ(c.l1_max_bytes, std::size_t{1} << 20);
  EXPECT_EQ(c.l1_max_ttl, 5s);
  EXPECT_EQ(c.l1_invalidation, cachet::InvalidationMode::tracking);
  EXPECT_EQ(c.l1_heartbeat, 250ms);
  EXPECT_TRUE(contains(c.to_string(), "REDIS_URL=redis://127.0.0.1:6390/0"));  // read for hybrid too
  const CacheConfig d;
  EXPECT_EQ(d.l1_max_items, 10'000u);
  EXPECT_EQ(d.l1_max_ttl, 60s);
  EXPECT_EQ(d.l1_invalidation, cachet::InvalidationMode::bcast);
  EXPECT_EQ(d.l1_heartbeat, 1s);
  expect_rejected("CACHE_L1_INVALIDATION", "keyspace");
  expect_rejected("CACHE_L1_HEARTBEAT", "5ms");
  expect_rejected("CACHE_L1_MAX_TTL", "0");
  expect_rejected("CACHE_L1_MAX_ITEMS", "0");
}

TEST(CacheConfig, DefaultTimeoutSecondsOrUnits) {
  const std::vector<std::pair<std::string, cachet::Ttl>> cases = {
      {"300", 300s}, {"1", 1s},     {"500ms", 500ms}, {"30s", 30s},  {"5m", 5min},
      {"1h", 1h},    {"0", cachet::Ttl::never()}, {"0s", cachet::Ttl::never()}, {"0ms", cachet::Ttl::never()},
      {"315360000", 315360000s},  // 10 years, the upper bound
  };
  for (const auto& [text, ttl] : cases) {
    EXPECT_EQ(CacheConfig::from_map({{"CACHE_DEFAULT_TIMEOUT", text}}).default_timeout, ttl) << text;
  }
}

TEST(CacheConfig, DefaultTimeoutMalformed) {
  for (const std::string bad : {"abc", "-5", "99999999999999999999", "5x", "300S", " 300", "300 ", "1.5", "+5",
                                "s", "ms", "5d", "315360001", "0x10", "3 00"}) {
    expect_rejected("CACHE_DEFAULT_TIMEOUT", bad);
  }
  expect_rejected("CACHE_DEFAULT_TIMEOUT", "");
  const std::string msg = config_error({{"CACHE_DEFAULT_TIMEOUT", "abc"}});
  EXPECT_TRUE(contains(msg, "seconds")) << msg;
  EXPECT_TRUE(contains(msg, "ms, s, m or h")) << msg;
}

TEST(CacheConfig, ThresholdAndMaxBytes) {
  EXPECT_EQ(CacheConfig::from_map({{"CACHE_THRESHOLD", "1"}}).threshold, 1u);
  EXPECT_EQ(CacheConfig::from_map({{"CACHE_THRESHOLD", "1000000000"}}).threshold, 1000000000u);
  for (const std::string bad : {"0", "-1", "abc", "1000000001", "10k", "99999999999999999999"}) {
    expect_rejected("CACHE_THRESHOLD", bad);
  }
  expect_rejected("CACHE_THRESHOLD", "");

  EXPECT_EQ(CacheConfig::from_map({{"CACHE_MAX_BYTES", "1"}}).max_bytes, 1u);
  EXPECT_EQ(CacheConfig::from_map({{"CACHE_MAX_BYTES", "1KiB"}}).max_bytes, 1024u);
  EXPECT_EQ(CacheConfig::from_map({{"CACHE_MAX_BYTES", "64MiB"}}).max_bytes, std::size_t{64} << 20);
  EXPECT_EQ(CacheConfig::from_map({{"CACHE_MAX_BYTES", "2GiB"}}).max_bytes, std::size_t{2} << 30);
  for (const std::string bad : {"0", "0MiB", "64MB", "64mib", "1TB", "-1", "abc", "1025GiB", "MiB"}) {
    expect_rejected("CACHE_MAX_BYTES", bad);
  }
  expect_rejected("CACHE_MAX_BYTES", "");
}

TEST(CacheConfig, RedisTimeoutsAndPoolSize) {
  for (const char* key : {"CACHE_REDIS_CONNECT_TIMEOUT", "CACHE_REDIS_SOCKET_TIMEOUT"}) {
    SCOPED_TRACE(key);
    auto get = [key](const std::string& v) {
      const auto c = CacheConfig::from_map({{key, v}});
      return std::string(key) == "CACHE_REDIS_CONNECT_TIMEOUT" ? c.redis_connect_timeout : c.redis_socket_timeout;
    };
    EXPECT_EQ(get("250"), std::optional<std::chrono::milliseconds>(250ms));  // bare = milliseconds
    EXPECT_EQ(get("250ms"), std::optional<std::chrono::milliseconds>(250ms));
    EXPECT_EQ(get("2s"), std::optional<std::chrono::milliseconds>(2000ms));
    EXPECT_EQ(get("1m"), std::optional<std::chrono::milliseconds>(60000ms));
    EXPECT_EQ(get("600000"), std::optional<std::chrono::milliseconds>(600000ms));
    for (const std::string bad : {"0", "0ms", "-1", "abc", "1h", "600001", "11m", "2 s", "1.5s"}) {
      expect_rejected(key, bad);
    }
    expect_rejected(key, "");
  }
  EXPECT_EQ(CacheConfig::from_map({{"CACHE_REDIS_POOL_SIZE", "1"}}).redis_pool_size, std::optional<int>(1));
  EXPECT_EQ(CacheConfig::from_map({{"CACHE_REDIS_POOL_SIZE", "1024"}}).redis_pool_size, std::optional<int>(1024));
  for (const std::string bad : {"0", "1025", "-2", "auto", "4.0"}) expect_rejected("CACHE_REDIS_POOL_SIZE", bad);
  expect_rejected("CACHE_REDIS_POOL_SIZE", "");
}

TEST(CacheConfig, FallbackModes) {
  EXPECT_EQ(CacheConfig::from_map({{"CACHE_FALLBACK", "startup"}}).fallback, FallbackMode::startup);
  EXPECT_EQ(CacheConfig::from_map({{"CACHE_FALLBACK", "NONE"}}).fallback, FallbackMode::none);
  EXPECT_EQ(CacheConfig::from_map({{"CACHE_FALLBACK", "Runtime"}}).fallback, FallbackMode::runtime);
  for (const std::string bad : {"always", "off", "true", "start-up"}) expect_rejected("CACHE_FALLBACK", bad);
  expect_rejected("CACHE_FALLBACK", "");
  EXPECT_STREQ(cachet::to_string(FallbackMode::runtime), "runtime");
  EXPECT_STREQ(cachet::to_string(CacheType::null), "null");
}

TEST(CacheConfig, BreakerSettings) {
  const auto c = CacheConfig::from_map(
      {{"CACHE_BREAKER_THRESHOLD", "1"}, {"CACHE_BREAKER_COOLDOWN", "5s"}, {"CACHE_JOURNAL_MAX", "10000000"}});
  EXPECT_EQ(c.breaker_threshold, 1);
  EXPECT_EQ(c.breaker_cooldown, 5000ms);
  EXPECT_EQ(c.journal_max, 10000000u);
  EXPECT_EQ(CacheConfig::from_map({{"CACHE_BREAKER_COOLDOWN", "250"}}).breaker_cooldown, 250ms);
  EXPECT_EQ(CacheConfig::from_map({{"CACHE_BREAKER_COOLDOWN", "1m"}}).breaker_cooldown, 60000ms);
  EXPECT_EQ(CacheConfig::from_map({{"CACHE_BREAKER_COOLDOWN", "1h"}}).breaker_cooldown, 3600000ms);  // its maximum
  for (const std::string bad : {"0", "1001", "x", "-3"}) expect_rejected("CACHE_BREAKER_THRESHOLD", bad);
  for (const std::string bad : {"0", "2h", "3600001", "5 s", "soon"}) expect_rejected("CACHE_BREAKER_COOLDOWN", bad);
  for (const std::string bad : {"0", "10000001", "1e6"}) expect_rejected("CACHE_JOURNAL_MAX", bad);
  expect_rejected("CACHE_BREAKER_THRESHOLD", "");
  expect_rejected("CACHE_BREAKER_COOLDOWN", "");
  expect_rejected("CACHE_JOURNAL_MAX", "");
}

TEST(CacheConfig, KeyPrefix) {
  EXPECT_EQ(CacheConfig::from_map({{"CACHE_KEY_PREFIX", ""}}).key_prefix, "");  // empty = no prefix
  EXPECT_EQ(CacheConfig::from_map({{"CACHE_KEY_PREFIX", "a b:*"}}).key_prefix, "a b:*");
  expect_rejected("CACHE_KEY_PREFIX", std::string(257, 'p'));

  // The URL's key_prefix applies when CACHE_KEY_PREFIX is not set ...
  auto c = CacheConfig::from_map({{"CACHE_TYPE", "redis"}, {"REDIS_URL", "redis://127.0.0.1:6379/0?key_prefix=u:"}});
  EXPECT_EQ(c.redis_options().key_prefix, "u:");
  // ... agreeing values are fine, disagreeing ones are an error naming both.
  c = CacheConfig::from_map({{"CACHE_TYPE", "redis"},
                             {"REDIS_URL", "redis://127.0.0.1:6379/0?key_prefix=u:"},
                             {"CACHE_KEY_PREFIX", "u:"}});
  EXPECT_EQ(c.redis_options().key_prefix, "u:");
  const std::string msg = config_error({{"CACHE_TYPE", "redis"},
                                        {"REDIS_URL", "redis://127.0.0.1:6379/0?key_prefix=u:"},
                                        {"CACHE_KEY_PREFIX", "k:"}});
  EXPECT_TRUE(contains(msg, "CACHE_KEY_PREFIX")) << msg;
  EXPECT_TRUE(contains(msg, "\"u:\"")) << msg;
  EXPECT_TRUE(contains(msg, "\"k:\"")) << msg;
}

TEST(CacheConfig, OverridesWinOverTheUrl) {
  const auto c = CacheConfig::from_map(
      {{"CACHE_TYPE", "redis"},
       {"REDIS_URL", "redis://127.0.0.1:6379/0?connect_timeout=1s&socket_timeout=3s&pool_size=2"},
       {"CACHE_REDIS_CONNECT_TIMEOUT", "50"}});
  const auto r = c.redis_options();
  EXPECT_EQ(r.connect_timeout, 50ms);   // overridden
  EXPECT_EQ(r.socket_timeout, 3000ms);  // from the URL
  EXPECT_EQ(r.pool_size, 2);            // from the URL
}

TEST(CacheConfig, RedisUrlIsOnlyReadForRedis) {
  // A REDIS_URL meant for another component (here: one this cachet refuses)
  // must not break a service whose cache is in memory.
  auto c = CacheConfig::from_map({{"CACHE_TYPE", "simple"}, {"REDIS_URL", "rediss://:pw@elsewhere:6380/0?ssl_x=1"}});
  EXPECT_EQ(c.type, CacheType::simple);
  EXPECT_FALSE(c.redis_url_set);
  c = CacheConfig::from_map({{"REDIS_URL", ""}});
  EXPECT_FALSE(c.redis_url_set);

  // For redis it is validated.
  for (const std::string bad : {"http://127.0.0.1:6379", "redis://127.0.0.1:notaport/0", "redis://127.0.0.1:6379/x",
                                "rediss://127.0.0.1:6380/0?ssl_cert_reqs=x", "localhost:6379"}) {
    SCOPED_TRACE(bad);
    const std::string msg = config_error({{"CACHE_TYPE", "redis"}, {"REDIS_URL", bad}});
    EXPECT_TRUE(contains(msg, "REDIS_URL")) << msg;
    EXPECT_TRUE(contains(msg, "accepted")) << msg;
  }
  expect_rejected("REDIS_URL", "", {{"CACHE_TYPE", "redis"}});
}

TEST(CacheConfig, PasswordsNeverAppearInMessages) {
  const std::vector<std::string> urls = {
      "redis://:hunter2secret@127.0.0.1:notaport/0",
      "redis://alice:hunter2secret@127.0.0.1:6379/notadb",
      "redis://127.0.0.1:6379/0?password=hunter2secret&bogus_key=1",
      "redis://:hunter2secret@127.0.0.1:6379/0?connect_timeout=forever",
      "redis://:hunter2%40secret@127.0.0.1:0/0",
      "rediss://:hunter2secret@127.0.0.1:6380/0?ssl_min_version=1.0",
      "rediss://127.0.0.1:6380/0?ssl_password=hunter2secret",
      "unix:///tmp/nope.sock?password=hunter2secret&db=x",
  };
  for (const auto& url : urls) {
    SCOPED_TRACE(url);
    const std::string msg = config_error({{"CACHE_TYPE", "redis"}, {"REDIS_URL", url}});
    EXPECT_TRUE(contains(msg, "REDIS_URL")) << msg;
    EXPECT_FALSE(contains(msg, "hunter2")) << msg;
    EXPECT_FALSE(contains(msg, "hunter2@secret")) << msg;
  }
}

TEST(CacheConfig, ToStringIsRedacted) {
  const auto c = CacheConfig::from_map({{"CACHE_TYPE", "redis"},
                                        {"REDIS_URL", "redis://alice:hunter2secret@127.0.0.1:6390/2?socket_timeout=750ms"},
                                        {"CACHE_DEFAULT_TIMEOUT", "0"},
                                        {"APP_ENV", "production"}});
  const std::string s = c.to_string();
  EXPECT_FALSE(contains(s, "hunter2")) << s;
  EXPECT_TRUE(contains(s, "REDIS_URL=redis://alice:***@127.0.0.1:6390/2")) << s;
  EXPECT_TRUE(contains(s, "CACHE_TYPE=redis\n")) << s;
  EXPECT_TRUE(contains(s, "CACHE_DEFAULT_TIMEOUT=0 (never expire)")) << s;
  EXPECT_TRUE(contains(s, "CACHE_REDIS_SOCKET_TIMEOUT=750ms")) << s;
  EXPECT_TRUE(contains(s, "CACHE_REDIS_CONNECT_TIMEOUT=250ms")) << s;
  EXPECT_TRUE(contains(s, "CACHE_KEY_PREFIX=\"cachet:\"")) << s;
  EXPECT_TRUE(contains(s, "CACHE_FALLBACK=runtime")) << s;
  EXPECT_TRUE(contains(s, "production")) << s;

  // A query-string password is redacted too, and to_string() does not throw
  // for a configuration built in code with a broken URL.
  CacheConfig raw;
  raw.type = CacheType::redis;
  raw.redis_url = "redis://127.0.0.1:99999/0?password=hunter2secret";
  const std::string t = raw.to_string();
  EXPECT_FALSE(contains(t, "hunter2")) << t;
  EXPECT_TRUE(contains(t, "password=***")) << t;

  const std::string d = CacheConfig::from_map({}).to_string();
  EXPECT_TRUE(contains(d, "CACHE_TYPE=simple\n")) << d;
  EXPECT_TRUE(contains(d, "CACHE_DEFAULT_TIMEOUT=300s")) << d;
  EXPECT_TRUE(contains(d, "CACHE_THRESHOLD=10000")) << d;
  EXPECT_TRUE(contains(d, "CACHE_MAX_BYTES=67108864")) << d;
  EXPECT_TRUE(contains(d, "APP_ENV/CACHE_ENV=(unset)")) << d;
}

TEST(CacheConfig, ProductionRule) {
  const std::string expected = "REDIS_URL must be set when CACHE_TYPE=redis in production";
  EXPECT_EQ(config_error({{"CACHE_TYPE", "redis"}, {"APP_ENV", "production"}}), expected);
  EXPECT_EQ(config_error({{"CACHE_TYPE", "RedisCache"}, {"APP_ENV", "PRODUCTION"}}), expected);
  EXPECT_EQ(config_error({{"CACHE_TYPE", "redis"}, {"CACHE_ENV", "Production"}}), expected);
  // CACHE_ENV is the more specific and wins over APP_ENV, both ways.
  EXPECT_EQ(config_error({{"CACHE_TYPE", "redis"}, {"APP_ENV", "dev"}, {"CACHE_ENV", "production"}}), expected);
  EXPECT_NO_THROW(CacheConfig::from_map({{"CACHE_TYPE", "redis"}, {"APP_ENV", "production"}, {"CACHE_ENV", "staging"}}));
  // Satisfied by an explicit REDIS_URL, even one equal to the default.
  const auto c = CacheConfig::from_map(
      {{"CACHE_TYPE", "redis"}, {"APP_ENV", "production"}, {"REDIS_URL", "redis://localhost:6379/0"}});
  EXPECT_TRUE(c.production());
  // Not production, or not redis: no rule.
  EXPECT_NO_THROW(CacheConfig::from_map({{"CACHE_TYPE", "redis"}, {"APP_ENV", "staging"}}));
  EXPECT_NO_THROW(CacheConfig::from_map({{"CACHE_TYPE", "redis"}, {"APP_ENV", ""}}));
  EXPECT_NO_THROW(CacheConfig::from_map({{"CACHE_TYPE", "simple"}, {"APP_ENV", "production"}}));
  EXPECT_NO_THROW(CacheConfig::from_map({{"CACHE_TYPE", "null"}, {"CACHE_ENV", "production"}}));
  // validate() applies it to a configuration built in code.
  CacheConfig code;
  code.type = CacheType::redis;
  code.environment = "production";
  try {
    code.validate();
    ADD_FAILURE() << "validate() accepted redis in production without REDIS_URL";
  } catch (const ConfigError& e) {
    EXPECT_EQ(std::string(e.what()), expected);
  }
  code.redis_url_set = true;
  EXPECT_NO_THROW(code.validate());
}

TEST(CacheConfig, ValidateChecksFieldsSetInCode) {
  auto expect_invalid = [](const CacheConfig& c, const std::string& key) {
    try {
      c.validate();
      ADD_FAILURE() << "validate() accepted a bad " << key;
    } catch (const ConfigError& e) {
      EXPECT_TRUE(contains(e.what(), key)) << e.what();
    }
  };
  CacheConfig c;
  EXPECT_NO_THROW(c.validate());
  c.threshold = 0;
  expect_invalid(c, "CACHE_THRESHOLD");
  c = CacheConfig{};
  c.max_bytes = 0;
  expect_invalid(c, "CACHE_MAX_BYTES");
  c = CacheConfig{};
  c.default_timeout = cachet::Ttl{};
  expect_invalid(c, "CACHE_DEFAULT_TIMEOUT");
  c = CacheConfig{};
  c.redis_socket_timeout = 0ms;
  expect_invalid(c, "CACHE_REDIS_SOCKET_TIMEOUT");
  c = CacheConfig{};
  c.breaker_threshold = 0;
  expect_invalid(c, "CACHE_BREAKER_THRESHOLD");
  c = CacheConfig{};
  c.journal_max = 0;
  expect_invalid(c, "CACHE_JOURNAL_MAX");
  c = CacheConfig{};
  c.breaker_cooldown = -1ms;
  expect_invalid(c, "CACHE_BREAKER_COOLDOWN");
}

TEST(CacheConfigEnv, DefaultsWhenNothingIsSet) {
  EnvGuard env;
  const auto c = CacheConfig::from_env();
  EXPECT_EQ(c.type, CacheType::simple);
  EXPECT_EQ(c.default_timeout, cachet::Ttl(300s));
  EXPECT_EQ(c.fallback, FallbackMode::runtime);
  EXPECT_FALSE(c.redis_url_set);
}

TEST(CacheConfigEnv, EveryKeyFromTheEnvironment) {
  EnvGuard env;
  env.set("CACHE_TYPE", "RedisCache");
  env.set("REDIS_URL", "redis://:pw@127.0.0.1:6391/1");
  env.set("CACHE_KEY_PREFIX", "env:");
  env.set("CACHE_DEFAULT_TIMEOUT", "5m");
  env.set("CACHE_THRESHOLD", "42");
  env.set("CACHE_MAX_BYTES", "8MiB");
  env.set("CACHE_REDIS_CONNECT_TIMEOUT", "75");
  env.set("CACHE_REDIS_SOCKET_TIMEOUT", "1s");
  env.set("CACHE_REDIS_POOL_SIZE", "3");
  env.set("CACHE_FALLBACK", "none");
  env.set("CACHE_BREAKER_THRESHOLD", "5");
  env.set("CACHE_BREAKER_COOLDOWN", "2s");
  env.set("CACHE_JOURNAL_MAX", "99");
  env.set("APP_ENV", "production");
  const auto c = CacheConfig::from_env();
  EXPECT_EQ(c.type, CacheType::redis);
  EXPECT_EQ(c.redis_url, "redis://:pw@127.0.0.1:6391/1");
  EXPECT_TRUE(c.redis_url_set);
  EXPECT_EQ(c.key_prefix, "env:");
  EXPECT_EQ(c.default_timeout, cachet::Ttl(300s));
  EXPECT_EQ(c.threshold, 42u);
  EXPECT_EQ(c.max_bytes, std::size_t{8} << 20);
  EXPECT_EQ(c.redis_connect_timeout, std::optional<std::chrono::milliseconds>(75ms));
  EXPECT_EQ(c.redis_socket_timeout, std::optional<std::chrono::milliseconds>(1000ms));
  EXPECT_EQ(c.redis_pool_size, std::optional<int>(3));
  EXPECT_EQ(c.fallback, FallbackMode::none);
  EXPECT_EQ(c.breaker_threshold, 5);
  EXPECT_EQ(c.breaker_cooldown, 2000ms);
  EXPECT_EQ(c.journal_max, 99u);
  EXPECT_TRUE(c.production());
  EXPECT_EQ(c.redis_options().password, "pw");
}

TEST(CacheConfigEnv, MalformedAndEmptyValues) {
  EnvGuard env;
  env.set("CACHE_DEFAULT_TIMEOUT", "abc");
  try {
    CacheConfig::from_env();
    ADD_FAILURE() << "no ConfigError";
  } catch (const ConfigError& e) {
    EXPECT_TRUE(contains(e.what(), "CACHE_DEFAULT_TIMEOUT=\"abc\"")) << e.what();
  }
  env.set("CACHE_DEFAULT_TIMEOUT", "");  // set but empty: an error, not the default
  try {
    CacheConfig::from_env();
    ADD_FAILURE() << "no ConfigError";
  } catch (const ConfigError& e) {
    EXPECT_TRUE(contains(e.what(), "CACHE_DEFAULT_TIMEOUT is set to an empty string")) << e.what();
    EXPECT_TRUE(contains(e.what(), "Unset it")) << e.what();
  }
}

TEST(CacheConfigEnv, ProductionRuleFromTheEnvironment) {
  EnvGuard env;
  env.set("CACHE_TYPE", "redis");
  env.set("APP_ENV", "Production");
  try {
    CacheConfig::from_env();
    ADD_FAILURE() << "no ConfigError";
  } catch (const ConfigError& e) {
    EXPECT_STREQ(e.what(), "REDIS_URL must be set when CACHE_TYPE=redis in production");
  }
  env.set("REDIS_URL", "redis://127.0.0.1:6379/0");
  EXPECT_NO_THROW(CacheConfig::from_env());
}

// The guard itself: what a test sets does not survive it, and what was there
// before comes back.
TEST(CacheConfigEnv, GuardRestoresTheEnvironment) {
  ::setenv("CACHE_THRESHOLD", "77", 1);
  ::unsetenv("CACHE_FALLBACK");
  {
    EnvGuard env;
    EXPECT_EQ(std::getenv("CACHE_THRESHOLD"), nullptr);
    env.set("CACHE_FALLBACK", "none");
    env.set("CACHE_THRESHOLD", "5");
    EXPECT_EQ(CacheConfig::from_env().threshold, 5u);
  }
  ASSERT_NE(std::getenv("CACHE_THRESHOLD"), nullptr);
  EXPECT_STREQ(std::getenv("CACHE_THRESHOLD"), "77");
  EXPECT_EQ(std::getenv("CACHE_FALLBACK"), nullptr);
  ::unsetenv("CACHE_THRESHOLD");
}

// ---- Flask-Caching's Cluster and Sentinel spellings -------------------------

TEST(ConfigFlaskTopologies, RedisClusterCacheWithItsNodes) {
  const auto c = CacheConfig::from_map({{"CACHE_TYPE", "RedisClusterCache"},
                                        {"CACHE_REDIS_CLUSTER", "10.0.0.1:7000,10.0.0.2:7001"},
                                        {"CACHE_REDIS_PASSWORD", "flask-pw"}});
  EXPECT_EQ(c.type, CacheType::redis);
  const auto o = c.redis_options();
  EXPECT_EQ(o.topology, cachet::RedisTopology::cluster);
  ASSERT_EQ(o.nodes.size(), 2u);
  EXPECT_EQ(o.nodes[1].host, "10.0.0.2");
  EXPECT_EQ(o.nodes[1].port, 7001);
  EXPECT_EQ(o.password, "flask-pw");
  EXPECT_EQ(c.to_string().find("flask-pw"), std::string::npos) << c.to_string();
  EXPECT_NE(c.to_string().find("CACHE_TYPE=redis (cluster)"), std::string::npos) << c.to_string();
}

TEST(ConfigFlaskTopologies, RedisSentinelCacheWithSentinelsAndMaster) {
  const auto c = CacheConfig::from_map({{"CACHE_TYPE", "RedisSentinelCache"},
                                        {"CACHE_REDIS_SENTINELS", "s1,s2:26380"},
                                        {"CACHE_REDIS_SENTINEL_MASTER", "mymaster"}});
  const auto o = c.redis_options();
  EXPECT_EQ(o.topology, cachet::RedisTopology::sentinel);
  EXPECT_EQ(o.sentinel_master, "mymaster");
  ASSERT_EQ(o.nodes.size(), 2u);
  EXPECT_EQ(o.nodes[0].port, 26379);
  EXPECT_EQ(o.nodes[1].port, 26380);
}

TEST(ConfigFlaskTopologies, TheUrlFormWorksWithTheFlaskType) {
  const auto c = CacheConfig::from_map(
      {{"CACHE_TYPE", "RedisClusterCache"}, {"REDIS_URL", "redis+cluster://h1:7000?read_from_replicas=yes"}});
  EXPECT_TRUE(c.redis_options().read_from_replicas);
}

TEST(ConfigFlaskTopologies, InconsistentMixesNameBothKeys) {
  auto error_of = [](const std::map<std::string, std::string>& m) {
    try {
      CacheConfig::from_map(m);
    } catch (const cachet::ConfigError& e) {
      return std::string(e.what());
    }
    return std::string("(no error)");
  };
  auto names = [](const std::string& msg, const char* a, const char* b) {
    return msg.find(a) != std::string::npos && msg.find(b) != std::string::npos;
  };
  std::string e = error_of({{"CACHE_TYPE", "redis"}, {"CACHE_REDIS_CLUSTER", "h:1"}});
  EXPECT_TRUE(names(e, "CACHE_REDIS_CLUSTER", "CACHE_TYPE")) << e;
  e = error_of({{"CACHE_TYPE", "RedisClusterCache"}, {"CACHE_REDIS_CLUSTER", "h:1"}, {"REDIS_URL", "redis+cluster://h:2"}});
  EXPECT_TRUE(names(e, "CACHE_REDIS_CLUSTER", "REDIS_URL")) << e;
  e = error_of({{"CACHE_TYPE", "RedisSentinelCache"}, {"CACHE_REDIS_SENTINELS", "s:1"}});
  EXPECT_TRUE(names(e, "CACHE_REDIS_SENTINELS", "CACHE_REDIS_SENTINEL_MASTER")) << e;
  e = error_of({{"CACHE_TYPE", "RedisClusterCache"}, {"CACHE_REDIS_SENTINELS", "s:1"}, {"CACHE_REDIS_SENTINEL_MASTER", "m"}});
  EXPECT_TRUE(names(e, "CACHE_REDIS_SENTINELS", "CACHE_TYPE")) << e;
  e = error_of({{"CACHE_TYPE", "RedisClusterCache"}, {"REDIS_URL", "redis://h:1"}});
  EXPECT_TRUE(names(e, "RedisClusterCache", "REDIS_URL")) << e;
  e = error_of({{"CACHE_TYPE", "RedisClusterCache"},
                {"REDIS_URL", "redis+cluster://:url-pw@h:1"},
                {"CACHE_REDIS_PASSWORD", "other-pw"}});
  EXPECT_TRUE(names(e, "CACHE_REDIS_PASSWORD", "REDIS_URL")) << e;
  EXPECT_EQ(e.find("other-pw"), std::string::npos) << e;
  EXPECT_EQ(e.find("url-pw"), std::string::npos) << e;
}

// CACHE_REDIS_TLS_*: each overrides the rediss:// URL's ssl_* value, as the
// other CACHE_REDIS_* keys override the URL; none turns TLS on by itself.
TEST(CacheConfig, TlsKeysOverrideTheUrl) {
  using cachet::TlsOptions;
  const auto& certs = cachet::test::TlsCerts::shared();
  const std::string url = "rediss://127.0.0.1:6390/0?ssl_ca_certs=" + certs.other_ca_cert +
                          "&ssl_cert_reqs=optional&ssl_check_hostname=false&ssl_server_name=from.url";
  // Unset: the URL decides.
  auto from_url = CacheConfig::from_map({{"CACHE_TYPE", "redis"}, {"REDIS_URL", url}}).redis_options();
  EXPECT_TRUE(from_url.tls.enabled);
  EXPECT_EQ(from_url.tls.ca_certs, certs.other_ca_cert);
  EXPECT_EQ(from_url.tls.cert_reqs, TlsOptions::CertReqs::optional);
  EXPECT_FALSE(from_url.tls.check_hostname);
  EXPECT_EQ(from_url.tls.server_name, "from.url");
  EXPECT_EQ(from_url.tls.certfile, "");

  // Set: the keys win.
  const auto c = CacheConfig::from_map({{"CACHE_TYPE", "redis"},
                                        {"REDIS_URL", url},
                                        {"CACHE_REDIS_TLS_CA_CERTS", certs.ca_cert},
                                        {"CACHE_REDIS_TLS_CERTFILE", certs.client_cert},
                                        {"CACHE_REDIS_TLS_KEYFILE", certs.client_key},
                                        {"CACHE_REDIS_TLS_CERT_REQS", "Required"},
                                        {"CACHE_REDIS_TLS_CHECK_HOSTNAME", "yes"},
                                        {"CACHE_REDIS_TLS_SERVER_NAME", "localhost"}});
  const auto o = c.redis_options();
  EXPECT_EQ(o.tls.ca_certs, certs.ca_cert);
  EXPECT_EQ(o.tls.certfile, certs.client_cert);
  EXPECT_EQ(o.tls.keyfile, certs.client_key);
  EXPECT_EQ(o.tls.cert_reqs, TlsOptions::CertReqs::required);
  EXPECT_TRUE(o.tls.check_hostname);
  EXPECT_EQ(o.tls.server_name, "localhost");
  const std::string shown = c.to_string();
  EXPECT_TRUE(contains(shown, "CACHE_REDIS_TLS_CERT_REQS=required")) << shown;
  EXPECT_TRUE(contains(shown, "CACHE_REDIS_TLS_SERVER_NAME=\"localhost\"")) << shown;
  const std::string url_shown = CacheConfig::from_map({{"CACHE_TYPE", "redis"}, {"REDIS_URL", url}}).to_string();
  EXPECT_TRUE(contains(url_shown, "CACHE_REDIS_TLS_CERT_REQS=optional (from REDIS_URL or default)")) << url_shown;

  // Bad values name the key, the value and what is accepted.
  const Map redis = {{"CACHE_TYPE", "redis"}, {"REDIS_URL", url}};
  expect_rejected("CACHE_REDIS_TLS_CERT_REQS", "maybe", redis);
  expect_rejected("CACHE_REDIS_TLS_CHECK_HOSTNAME", "perhaps", redis);
  expect_rejected("CACHE_REDIS_TLS_CA_CERTS", "", redis);
  // An unreadable file is refused with the configuration, naming the key.
  std::string msg = config_error({{"CACHE_TYPE", "redis"}, {"REDIS_URL", url},
                                  {"CACHE_REDIS_TLS_CA_CERTS", "/nonexistent/ca.pem"}});
  EXPECT_TRUE(contains(msg, "CACHE_REDIS_TLS_CA_CERTS")) << msg;
  EXPECT_TRUE(contains(msg, "cannot read '/nonexistent/ca.pem'")) << msg;
  // Without TLS in the URL the keys are an error, not ignored.
  msg = config_error({{"CACHE_TYPE", "redis"}, {"REDIS_URL", "redis://127.0.0.1:6390/0"},
                      {"CACHE_REDIS_TLS_CERT_REQS", "none"}, {"CACHE_REDIS_TLS_SERVER_NAME", "x"}});
  EXPECT_TRUE(contains(msg, "CACHE_REDIS_TLS_CERT_REQS") && contains(msg, "CACHE_REDIS_TLS_SERVER_NAME")) << msg;
  EXPECT_TRUE(contains(msg, "are set but REDIS_URL does not use TLS; accepted: a rediss://")) << msg;
  msg = config_error({{"CACHE_TYPE", "RedisClusterCache"}, {"CACHE_REDIS_CLUSTER", "h1:7000"},
                      {"CACHE_REDIS_TLS_CHECK_HOSTNAME", "false"}});
  EXPECT_TRUE(contains(msg, "CACHE_REDIS_TLS_CHECK_HOSTNAME is set but CACHE_REDIS_CLUSTER does not use TLS")) << msg;
  // Not read for a cache in memory.
  const auto simple = CacheConfig::from_map({{"CACHE_TYPE", "simple"}, {"CACHE_REDIS_TLS_CERT_REQS", "maybe"}});
  EXPECT_FALSE(simple.redis_tls_cert_reqs.has_value());
}

TEST(CacheConfigEnv, TlsKeysFromTheEnvironment) {
  const auto& certs = cachet::test::TlsCerts::shared();
  EnvGuard env;
  env.set("CACHE_TYPE", "RedisClusterCache");
  env.set("REDIS_URL", "rediss+cluster://127.0.0.1:7000,127.0.0.1:7001");
  env.set("CACHE_REDIS_TLS_CA_CERTS", certs.ca_cert);
  env.set("CACHE_REDIS_TLS_CERTFILE", certs.client_cert);
  env.set("CACHE_REDIS_TLS_KEYFILE", certs.client_key);
  env.set("CACHE_REDIS_TLS_CERT_REQS", "none");
  env.set("CACHE_REDIS_TLS_CHECK_HOSTNAME", "false");
  env.set("CACHE_REDIS_TLS_SERVER_NAME", "redis.internal");
  const auto o = CacheConfig::from_env().redis_options();
  EXPECT_EQ(o.topology, cachet::RedisTopology::cluster);
  EXPECT_TRUE(o.tls.enabled);
  EXPECT_EQ(o.tls.ca_certs, certs.ca_cert);
  EXPECT_EQ(o.tls.certfile, certs.client_cert);
  EXPECT_EQ(o.tls.keyfile, certs.client_key);
  EXPECT_EQ(o.tls.cert_reqs, cachet::TlsOptions::CertReqs::none);
  EXPECT_FALSE(o.tls.check_hostname);
  EXPECT_EQ(o.tls.server_name, "redis.internal");
}
