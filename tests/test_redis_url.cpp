// RedisOptions: URL parsing, validation and redaction. No server needed.
#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <thread>

#include "cachet/redis_cache.hpp"
#include "support/tls_certs.hpp"

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
      // TLS: the ssl_* keys and their values; files are checked when parsed.
      {"rediss:///tmp/r.sock?password=hunter2", "cannot be used with a unix socket"},
      {"unix:///tmp/r.sock?ssl_cert_reqs=none&password=hunter2", "unix socket"},
      {"redis://:hunter2@host?ssl_cert_reqs=none", "'ssl_cert_reqs' is a TLS option, and this URL does not use TLS"},
      {"redis+cluster://:hunter2@h1,h2?ssl_ca_certs=/ca.pem", "rediss+cluster://"},
      {"rediss://:hunter2@host?ssl_cert_reqs=maybe", "ssl_cert_reqs='maybe' is not valid; accepted: required, optional"},
      {"rediss://:hunter2@host?ssl_check_hostname=perhaps", "ssl_check_hostname='perhaps' is not valid; accepted: "},
      {"rediss://:hunter2@host?ssl_min_version=1.1", "ssl_min_version='1.1' is not valid; accepted: 1.2 or 1.3"},
      {"rediss://:hunter2@host?ssl_verify=yes", "unknown query parameter 'ssl_verify'; accepted ssl_* keys: "},
      {"rediss://:hunter2@host?ssl_ca_certs=/nonexistent/ca.pem", "ca_certs (ssl_ca_certs): cannot read '/nonexistent"},
      {"rediss://:hunter2@host?ssl_ca_path=/nonexistent", "ca_path (ssl_ca_path): cannot read '/nonexistent'"},
      {"rediss://:hunter2@host?ssl_certfile=/nonexistent.pem", "certfile (ssl_certfile): cannot read"},
      {"rediss://:hunter2@host?ssl_keyfile=/k.pem", "keyfile (ssl_keyfile) is set without certfile (ssl_certfile)"},
      {"rediss://host?ssl_password=hunter2", "key_password (ssl_password) is set without certfile"},
      {"rediss://:hunter2@host?ssl_server_name=a/b", "server_name (ssl_server_name) 'a/b'"},
      {"rediss+cluster://:hunter2@h1:7000?ssl_cert_reqs=", "ssl_cert_reqs='' is not valid"},
      {"rediss+sentinel://:hunter2@h1", "missing the master's name"},
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
  EXPECT_NE(config_error_of("rediss://host?ssl_password=hunter2&ssl_colour=1").find("ssl_password=***"),
            std::string::npos);
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

// rediss:// and every ssl_* key (redis-py's spelling), with real files: they
// are checked when the URL is parsed.
TEST(RedisUrl, TlsQueryKeys) {
  using cachet::RedisTopology;
  using cachet::TlsOptions;
  const auto& certs = cachet::test::TlsCerts::shared();
  const auto plain = RedisOptions::from_url("redis://host:6380");
  EXPECT_FALSE(plain.tls.enabled);

  const auto d = RedisOptions::from_url("rediss://host:6380/1");
  EXPECT_TRUE(d.tls.enabled);
  EXPECT_EQ(d.port, 6380);
  EXPECT_EQ(d.db, 1);
  EXPECT_EQ(d.tls.cert_reqs, TlsOptions::CertReqs::required);
  EXPECT_TRUE(d.tls.check_hostname);
  EXPECT_EQ(d.tls.min_version, TlsOptions::Version::tls1_2);
  EXPECT_EQ(d.tls.ca_certs, "");
  EXPECT_EQ(d.redacted_url(), "rediss://host:6380/1");

  const std::string url = "REDISS://u:hunter2@127.0.0.1:6390/0?ssl_cert_reqs=OPTIONAL&ssl_ca_certs=" + certs.ca_cert +
                          "&ssl_ca_path=" + certs.dir + "&ssl_certfile=" + certs.client_cert +
                          "&ssl_keyfile=" + certs.client_key_encrypted + "&ssl_password=key%26pass" +
                          "&ssl_check_hostname=no&ssl_server_name=redis.internal&ssl_min_version=TLSv1.3";
  const auto o = RedisOptions::from_url(url);
  EXPECT_TRUE(o.tls.enabled);
  EXPECT_EQ(o.tls.cert_reqs, TlsOptions::CertReqs::optional);
  EXPECT_EQ(o.tls.ca_certs, certs.ca_cert);
  EXPECT_EQ(o.tls.ca_path, certs.dir);
  EXPECT_EQ(o.tls.certfile, certs.client_cert);
  EXPECT_EQ(o.tls.keyfile, certs.client_key_encrypted);
  EXPECT_EQ(o.tls.key_password, "key&pass");
  EXPECT_FALSE(o.tls.check_hostname);
  EXPECT_EQ(o.tls.server_name, "redis.internal");
  EXPECT_EQ(o.tls.min_version, TlsOptions::Version::tls1_3);
  EXPECT_EQ(RedisOptions::from_url("rediss://h?ssl_cert_reqs=none").tls.cert_reqs, TlsOptions::CertReqs::none);
  EXPECT_EQ(RedisOptions::from_url("rediss://h?ssl_min_version=1.2").tls.min_version, TlsOptions::Version::tls1_2);

  // Printed back: rediss, every key that differs from the default, the passphrase as ***.
  const std::string redacted = o.redacted_url();
  EXPECT_EQ(redacted.rfind("rediss://u:***@127.0.0.1:6390/0?", 0), 0u) << redacted;
  EXPECT_NE(redacted.find("ssl_password=***"), std::string::npos) << redacted;
  EXPECT_EQ(redacted.find("key%26pass"), std::string::npos) << redacted;
  EXPECT_EQ(redacted.find("key&pass"), std::string::npos) << redacted;
  const std::string line = o.to_string();
  EXPECT_NE(line.find("tls{cert_reqs=optional"), std::string::npos) << line;
  EXPECT_NE(line.find("key_password=***"), std::string::npos) << line;
  EXPECT_EQ(line.find("key&pass"), std::string::npos) << line;
  const auto back = RedisOptions::from_url(redacted);
  EXPECT_EQ(back.tls.cert_reqs, o.tls.cert_reqs);
  EXPECT_EQ(back.tls.ca_certs, o.tls.ca_certs);
  EXPECT_EQ(back.tls.ca_path, o.tls.ca_path);
  EXPECT_EQ(back.tls.certfile, o.tls.certfile);
  EXPECT_EQ(back.tls.keyfile, o.tls.keyfile);
  EXPECT_EQ(back.tls.check_hostname, o.tls.check_hostname);
  EXPECT_EQ(back.tls.server_name, o.tls.server_name);
  EXPECT_EQ(back.tls.min_version, o.tls.min_version);

  // Cluster and Sentinel over TLS.
  const auto c = RedisOptions::from_url("rediss+cluster://h1:7000,h2:7001?ssl_ca_certs=" + certs.ca_cert);
  EXPECT_EQ(c.topology, RedisTopology::cluster);
  EXPECT_TRUE(c.tls.enabled);
  EXPECT_EQ(c.tls.ca_certs, certs.ca_cert);
  EXPECT_EQ(c.redacted_url().rfind("rediss+cluster://h1:7000,h2:7001?ssl_ca_certs=", 0), 0u) << c.redacted_url();
  const auto s = RedisOptions::from_url("rediss+sentinel://s1,s2:26380/mymaster/2?ssl_check_hostname=false");
  EXPECT_EQ(s.topology, RedisTopology::sentinel);
  EXPECT_TRUE(s.tls.enabled);
  EXPECT_FALSE(s.tls.check_hostname);
  EXPECT_EQ(s.redacted_url(), "rediss+sentinel://s1:26379,s2:26380/mymaster/2?ssl_check_hostname=false");

  // TLS options set in code are validated the same way; a unix socket is refused.
  RedisOptions unix_tls;
  unix_tls.unix_socket = "/tmp/r.sock";
  unix_tls.tls.enabled = true;
  EXPECT_NE(validate_error_of(unix_tls).find("cannot be used with a unix socket"), std::string::npos);
  RedisOptions no_cert;
  no_cert.tls.enabled = true;
  no_cert.tls.keyfile = certs.client_key;
  EXPECT_NE(validate_error_of(no_cert).find("keyfile (ssl_keyfile)"), std::string::npos);
}
