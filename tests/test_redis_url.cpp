// RedisOptions: URL parsing, validation and redaction. No server needed.
#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <thread>

#include "cachet/redis_cache.hpp"

using cachet::ConfigError;
using cachet::RedisOptions;
using namespace std::chrono_literals;

namespace {

std::string config_error_of(const std::string& url) {
  try {
    RedisOptions::from_url(url);
  } catch (const ConfigError& e) {
    return e.what();
  }
  ADD_FAILURE() << "no ConfigError for " << url;
  return "";
}

std::string validate_error_of(const RedisOptions& o) {
  try {
    o.validate();
  } catch (const ConfigError& e) {
    return e.what();
  }
  ADD_FAILURE() << "no ConfigError for " << o.to_string();
  return "";
}

}  // namespace

TEST(RedisUrl, Defaults) {
  const RedisOptions o;
  EXPECT_EQ(o.host, "localhost");
  EXPECT_EQ(o.port, 6379);
  EXPECT_EQ(o.db, 0);
  EXPECT_EQ(o.connect_timeout, 250ms);
  EXPECT_EQ(o.socket_timeout, 500ms);
  EXPECT_EQ(o.pool_wait_timeout, 1000ms);
  EXPECT_EQ(o.pool_size, 0);
  EXPECT_TRUE(o.keepalive);
  EXPECT_EQ(o.key_prefix, "cachet:");
  EXPECT_EQ(o.default_timeout, cachet::Ttl(300s));
  EXPECT_EQ(o.on_error, cachet::ErrorPolicy::FailOpen);
  EXPECT_FALSE(o.allow_flushdb);
  EXPECT_NO_THROW(o.validate());
}

struct ValidCase {
  const char* url;
  const char* host;
  int port;
  const char* unix_socket;
  int db;
  const char* username;
  const char* password;
};

TEST(RedisUrl, ValidUrls) {
  const ValidCase cases[] = {
      {"redis://localhost:6379/0", "localhost", 6379, "", 0, "", ""},
      {"redis://localhost", "localhost", 6379, "", 0, "", ""},
      {"redis://localhost/", "localhost", 6379, "", 0, "", ""},
      {"REDIS://cache.internal:7000/3", "cache.internal", 7000, "", 3, "", ""},
      {"redis://10.0.0.5:6380", "10.0.0.5", 6380, "", 0, "", ""},
      {"redis://[::1]:6380/2", "::1", 6380, "", 2, "", ""},
      {"redis://[fe80::1]", "fe80::1", 6379, "", 0, "", ""},
      {"redis://:secret@host", "host", 6379, "", 0, "", "secret"},
      {"redis://user:secret@host:1/15", "host", 1, "", 15, "user", "secret"},
      {"redis://:p%40ss@host", "host", 6379, "", 0, "", "p@ss"},
      {"redis://us%3Aer:p%3As%2Fs%25@host", "host", 6379, "", 0, "us:er", "p:s/s%"},
      {"redis://:@host", "host", 6379, "", 0, "", ""},
      {"redis://host:65535/0?db=4", "host", 65535, "", 4, "", ""},
      {"unix:///run/redis/redis.sock", "localhost", 6379, "/run/redis/redis.sock", 0, "", ""},
      {"unix:///tmp/r%20s.sock?db=2&password=pw", "localhost", 6379, "/tmp/r s.sock", 2, "", "pw"},
      {"unix:///tmp/r.sock?username=bob&password=a%26b", "localhost", 6379, "/tmp/r.sock", 0, "bob", "a&b"},
      {"redis://[::ffff:127.0.0.1]:6380", "::ffff:127.0.0.1", 6380, "", 0, "", ""},
      {"redis://[2001:DB8::a]", "2001:DB8::a", 6379, "", 0, "", ""},
      {"redis://my_cache-01.Example.com:7000", "my_cache-01.Example.com", 7000, "", 0, "", ""},
      {"unix:///tmp/%C3%A9t%C3%A9.sock", "localhost", 6379, "/tmp/\xC3\xA9t\xC3\xA9.sock", 0, "", ""},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.url);
    RedisOptions o;
    ASSERT_NO_THROW(o = RedisOptions::from_url(c.url));
    EXPECT_EQ(o.host, c.host);
    EXPECT_EQ(o.port, c.port);
    EXPECT_EQ(o.unix_socket, c.unix_socket);
    EXPECT_EQ(o.db, c.db);
    EXPECT_EQ(o.username, c.username);
    EXPECT_EQ(o.password, c.password);
  }
}

TEST(RedisUrl, QueryParameters) {
  const auto o = RedisOptions::from_url(
      "redis://h/1?connect_timeout=100ms&socket_timeout=2s&pool_wait_timeout=1m&pool_size=8&key_prefix=app%3Av1%3A");
  EXPECT_EQ(o.connect_timeout, 100ms);
  EXPECT_EQ(o.socket_timeout, 2000ms);
  EXPECT_EQ(o.pool_wait_timeout, 60000ms);
  EXPECT_EQ(o.pool_size, 8);
  EXPECT_EQ(o.key_prefix, "app:v1:");
  EXPECT_EQ(o.db, 1);

  EXPECT_EQ(RedisOptions::from_url("redis://h?connect_timeout=750").connect_timeout, 750ms);
  EXPECT_EQ(RedisOptions::from_url("redis://h?key_prefix=").key_prefix, "");
  // Fields the URL does not mention keep their defaults.
  EXPECT_EQ(RedisOptions::from_url("redis://h").key_prefix, "cachet:");
}

struct InvalidCase {
  const char* url;
  const char* expect;  // a substring of the message
};

TEST(RedisUrl, InvalidUrlsNameTheProblemAndHideThePassword) {
  const InvalidCase cases[] = {
      {"localhost:6379", "missing scheme"},
      {"http://:hunter2@host", "unknown scheme 'http://'"},
      {"redis://:hunter2@host:0", "port '0'"},
      {"redis://:hunter2@host:65536", "between 1 and 65535"},
      {"redis://:hunter2@host:abc/0", "port 'abc'"},
      {"redis://:hunter2@host:/0", "empty port"},
      {"redis://:hunter2@host/abc", "database 'abc'"},
      {"redis://:hunter2@host/-1", "database '-1'"},
      {"redis://:hunter2@/0", "missing host"},
      {"redis://:hunter2@::1:6379", "brackets"},
      {"redis://:hunter2@[::1:6379", "missing ']'"},
      {"redis://:hunter2@host?color=blue", "unknown query parameter 'color'"},
      {"redis://:hunter2@host?connect_timeout=fast", "connect_timeout='fast' is not a duration"},
      {"redis://:hunter2@host?socket_timeout=1h", "socket_timeout='1h' is not a duration"},
      {"redis://:hunter2@host?socket_timeout=0ms", "socket_timeout 0ms is out of range"},
      {"redis://:hunter2@host?pool_size=-1", "pool_size='-1'"},
      {"redis://:hunter2@host?pool_size=100000", "pool_size 100000 is out of range"},
      {"redis://:hunter2@host?db", "'db' has no value"},
      {"redis://:hunter2%zz@host", "percent-encoding in the password"},
      {"redis://hunter2@host", "credentials must be written"},
      {"redis://user:@host", "without a password"},
      {"unix://host/tmp/x.sock?password=hunter2", "absolute socket path"},
      {"unix://?password=hunter2", "absolute socket path"},
      {"rediss://:hunter2@host:6380", "TLS"},
      // '[' / ']' only around a whole IPv6 address.
      {"redis://:hunter2@[[]:6380/3", "'[[]' is not an IPv6 address"},
      {"redis://[[]:6380/3?password=hunter2", "brackets hold an IPv6 address only"},
      {"redis://:hunter2@[]:6380", "'[]' is not an IPv6 address"},
      {"redis://:hunter2@[localhost]:6380", "'[localhost]' is not an IPv6 address"},
      {"redis://:hunter2@[::1%eth0]:6380", "is not an IPv6 address"},
      {"redis://:hunter2@ho[st:6380", "'[' and ']' are accepted only around a whole IPv6 address"},
      {"redis://:hunter2@host]:6380", "'[' and ']' are accepted only around a whole IPv6 address"},
      // Other characters no host name has.
      {"redis://:hunter2@my host:6380", "host 'my host' contains ' '"},
      {"redis://:hunter2@h%41st", "host 'h%41st' contains '%'"},
      {"redis://:hunter2@h\x01st", "contains"},
      // Control bytes in a unix socket path (a NUL would cut the path short).
      {"unix:///tmp/a%00b.sock?password=hunter2", "unix_socket '/tmp/a\\x00b.sock' contains a control byte"},
      {"unix:///tmp/a%0Ab.sock?password=hunter2", "'/tmp/a\\x0ab.sock' contains a control byte"},
      {"unix:///tmp/a%7Fb.sock", "contains a control byte"},
      {"unix:///tmp/a%1fb.sock", "accepted: an absolute path of printable characters"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.url);
    const std::string msg = config_error_of(c.url);
    EXPECT_NE(msg.find(c.expect), std::string::npos) << msg;
    EXPECT_EQ(msg.find("hunter2"), std::string::npos) << msg;
    EXPECT_NE(msg.find("invalid Redis URL '"), std::string::npos) << msg;
  }
  // The redacted URL is named in the message.
  EXPECT_NE(config_error_of("redis://bob:hunter2@host:99999").find("redis://bob:***@host:99999"), std::string::npos);
  EXPECT_NE(config_error_of("rediss://host").find("hiredis >= 1.0"), std::string::npos);
}

TEST(RedisUrl, RedactedUrlAndToStringNeverShowThePassword) {
  auto o = RedisOptions::from_url("redis://alice:hunter2@10.1.2.3:6380/4?pool_size=3&socket_timeout=2s");
  EXPECT_EQ(o.redacted_url(), "redis://alice:***@10.1.2.3:6380/4?socket_timeout=2000ms&pool_size=3");
  const std::string s = o.to_string();
  EXPECT_EQ(s.find("hunter2"), std::string::npos) << s;
  EXPECT_NE(s.find("password=***"), std::string::npos) << s;
  EXPECT_NE(s.find("pool_size=3"), std::string::npos) << s;
  EXPECT_NE(s.find("host=10.1.2.3"), std::string::npos) << s;

  auto u = RedisOptions::from_url("unix:///tmp/r.sock?db=2&password=hunter2");
  EXPECT_EQ(u.redacted_url(), "unix:///tmp/r.sock?db=2&password=***");
  EXPECT_EQ(u.to_string().find("hunter2"), std::string::npos);

  EXPECT_EQ(RedisOptions::from_url("redis://[::1]:6380/2").redacted_url(), "redis://[::1]:6380/2");
  EXPECT_NE(RedisOptions().to_string().find("password=(none)"), std::string::npos);
}

TEST(RedisUrl, RedactedUrlRoundTripsEverythingButThePassword) {
  RedisOptions o;
  o.host = "::1";
  o.port = 7001;
  o.db = 9;
  o.connect_timeout = 123ms;
  o.socket_timeout = 4567ms;
  o.pool_wait_timeout = 89ms;
  o.pool_size = 5;
  o.key_prefix = "my app/v2:&=?#%";
  const auto back = RedisOptions::from_url(o.redacted_url());
  EXPECT_EQ(back.host, o.host);
  EXPECT_EQ(back.port, o.port);
  EXPECT_EQ(back.db, o.db);
  EXPECT_EQ(back.connect_timeout, o.connect_timeout);
  EXPECT_EQ(back.socket_timeout, o.socket_timeout);
  EXPECT_EQ(back.pool_wait_timeout, o.pool_wait_timeout);
  EXPECT_EQ(back.pool_size, o.pool_size);
  EXPECT_EQ(back.key_prefix, o.key_prefix);
}

TEST(RedisUrl, ValidateNamesTheField) {
  auto with = [](auto change) {
    RedisOptions o;
    change(o);
    return validate_error_of(o);
  };
  EXPECT_NE(with([](RedisOptions& o) { o.port = 0; }).find("port 0"), std::string::npos);
  EXPECT_NE(with([](RedisOptions& o) { o.host.clear(); }).find("host is empty"), std::string::npos);
  EXPECT_NE(with([](RedisOptions& o) { o.db = -1; }).find("db -1"), std::string::npos);
  EXPECT_NE(with([](RedisOptions& o) { o.connect_timeout = 0ms; }).find("connect_timeout 0ms"), std::string::npos);
  EXPECT_NE(with([](RedisOptions& o) { o.socket_timeout = -5ms; }).find("socket_timeout -5ms"), std::string::npos);
  EXPECT_NE(with([](RedisOptions& o) { o.pool_wait_timeout = std::chrono::hours(48); }).find("pool_wait_timeout"),
            std::string::npos);
  // One range for every network wait, as for CACHE_REDIS_*_TIMEOUT: 1 ms to 10 minutes.
  EXPECT_NE(with([](RedisOptions& o) { o.socket_timeout = std::chrono::minutes(10) + 1ms; })
                .find("socket_timeout 600001ms is out of range; accepted: from 1 ms to 10 minutes"),
            std::string::npos);
  EXPECT_NO_THROW(RedisOptions::from_url("redis://h?connect_timeout=10m&socket_timeout=600000&pool_wait_timeout=1ms"));
  EXPECT_NE(config_error_of("redis://h?pool_wait_timeout=11m").find("pool_wait_timeout 660000ms is out of range"),
            std::string::npos);
  EXPECT_NE(with([](RedisOptions& o) { o.pool_size = -2; }).find("pool_size -2"), std::string::npos);
  EXPECT_NE(with([](RedisOptions& o) { o.username = "bob"; }).find("without a password"), std::string::npos);
  EXPECT_NE(with([](RedisOptions& o) { o.unix_socket = "relative.sock"; }).find("not an absolute path"),
            std::string::npos);
  EXPECT_NE(with([](RedisOptions& o) { o.unix_socket = "/" + std::string(200, 'x'); }).find("at most"),
            std::string::npos);
  EXPECT_NE(with([](RedisOptions& o) { o.host = "[::1]"; }).find("host '[::1]' contains '['"), std::string::npos);
  EXPECT_NE(with([](RedisOptions& o) { o.host = "cache host"; }).find("accepted: a host name"), std::string::npos);
  EXPECT_NE(with([](RedisOptions& o) { o.host = std::string("a\0b", 3); }).find("host 'a\\x00b' contains '\\x00'"),
            std::string::npos);
  EXPECT_NE(with([](RedisOptions& o) { o.host = "::g"; }).find("(an IPv6 address)"), std::string::npos);
  EXPECT_NE(with([](RedisOptions& o) { o.unix_socket = std::string("/tmp/a\0b", 8); }).find("control byte"),
            std::string::npos);
  EXPECT_NE(with([](RedisOptions& o) { o.unix_socket = "/tmp/a\nb"; }).find("'/tmp/a\\x0ab'"), std::string::npos);
  EXPECT_NE(with([](RedisOptions& o) { o.default_timeout = cachet::Ttl::use_default(); }).find("default_timeout"),
            std::string::npos);
  // A password never appears, even in a validation message.
  EXPECT_EQ(with([](RedisOptions& o) {
              o.password = "hunter2";
              o.port = -1;
            }).find("hunter2"),
            std::string::npos);
}

TEST(RedisUrl, ConstructorThrowsOnlyConfigErrorAndNeverConnects) {
  RedisOptions bad;
  bad.port = 70000;
  EXPECT_THROW(cachet::RedisCache{bad}, ConfigError);

  // Nothing listens on port 1 of 127.0.0.1; construction must not care.
  RedisOptions o = RedisOptions::from_url("redis://127.0.0.1:1/0");
  const auto t0 = std::chrono::steady_clock::now();
  cachet::RedisCache cache(o);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 100ms);
  EXPECT_EQ(cache.backend(), "redis");
  EXPECT_EQ(cache.options().port, 1);
}
