// RedisOptions: URL parsing, validation, redacted printing.
#include <algorithm>
#include <cctype>
#include <string>
#include <string_view>
#include <sys/un.h>
#include <thread>

#include <hiredis/hiredis.h>  // HIREDIS_MAJOR / _MINOR / _PATCH only

#include "cachet/redis_cache.hpp"
#include "core/parse.hpp"
#include "core/redact.hpp"
#include "redis/url.hpp"

#define CACHET_STR2(x) #x
#define CACHET_STR(x) CACHET_STR2(x)
#define HIREDIS_VERSION_TEXT CACHET_STR(HIREDIS_MAJOR) "." CACHET_STR(HIREDIS_MINOR) "." CACHET_STR(HIREDIS_PATCH)

namespace cachet {

namespace {

constexpr std::string_view kAcceptedForms =
    "accepted: redis://[[username]:password@]host[:port][/db][?query] or unix:///path/to/redis.sock[?query]";
constexpr std::string_view kAcceptedQuery =
    "accepted: connect_timeout, socket_timeout, pool_wait_timeout, pool_size, db, username, password, key_prefix";
constexpr int kMaxPoolSize = 1024;

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool percent_decode(std::string_view in, std::string& out) {
  out.clear();
  out.reserve(in.size());
  for (std::size_t i = 0; i < in.size(); ++i) {
    if (in[i] != '%') {
      out += in[i];
      continue;
    }
    if (i + 2 >= in.size()) return false;
    const int hi = detail::hex_value(in[i + 1]);
    const int lo = detail::hex_value(in[i + 2]);
    if (hi < 0 || lo < 0) return false;
    out += static_cast<char>(hi * 16 + lo);
    i += 2;
  }
  return true;
}

// Percent-encodes everything but unreserved characters and `keep`.
std::string percent_encode(std::string_view in, std::string_view keep) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (char ch : in) {
    const auto c = static_cast<unsigned char>(ch);
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~' || keep.find(ch) != std::string_view::npos) {
      out += ch;
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

// Whole numbers and durations follow the grammar of core/parse.hpp.
template <class Int>
bool parse_int(std::string_view s, Int& out) {
  const auto n = parse::whole_as<Int>(s);
  if (n) out = *n;
  return n.has_value();
}

std::string ms(std::chrono::milliseconds d) { return std::to_string(d.count()) + "ms"; }

bool is_control(char ch) {
  const auto c = static_cast<unsigned char>(ch);
  return c < 0x20 || c == 0x7f;
}

// `s` with control bytes written as \xNN, so a message stays one readable line.
std::string printable(std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (char ch : s) {
    if (is_control(ch)) {
      const auto c = static_cast<unsigned char>(ch);
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 15];
    } else {
      out += ch;
    }
  }
  return out;
}

constexpr std::string_view kAcceptedHosts =
    "accepted: a host name (letters, digits, '-', '.', '_'), an IPv4 address, or an IPv6 address (hex digits, "
    "':' and '.'; in a URL inside brackets, e.g. redis://[::1]:6379)";

// Why `host` cannot be a host name or IP address; empty when it can. A host
// with ':' is an IPv6 address; anything else a name or an IPv4 address.
std::string host_problem(std::string_view host) {
  const bool ipv6 = host.find(':') != std::string_view::npos;
  for (char c : host) {
    const auto u = static_cast<unsigned char>(c);
    const bool ok = ipv6 ? (std::isxdigit(u) || c == ':' || c == '.')
                         : (std::isalnum(u) || c == '-' || c == '.' || c == '_');
    if (!ok) {
      const std::string what = is_control(c) ? printable(std::string_view(&c, 1)) : std::string(1, c);
      return std::string("host '") + printable(host) + "' contains '" + what + "'" +
             (ipv6 ? " (an IPv6 address)" : "") + "; " + std::string(kAcceptedHosts);
    }
  }
  return {};
}

}  // namespace

namespace redis {

std::size_t effective_pool_size(const RedisOptions& options) {
  if (options.pool_size > 0) return static_cast<std::size_t>(options.pool_size);
  const unsigned hw = std::max(1u, std::thread::hardware_concurrency());
  return std::clamp<std::size_t>(std::size_t{2} * hw, 2, 16);
}

}  // namespace redis

RedisOptions RedisOptions::from_url(std::string_view url) {
  RedisOptions o;
  auto fail = [&](const std::string& what) {
    // `what` may quote a part of the URL that holds a secret (a malformed query
    // swallowing "password=..."): scrub every secret of the URL from it too.
    return ConfigError(detail::scrub("invalid Redis URL '" + detail::redact_url(url) + "': " + what, url));
  };

  const auto scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos) throw fail(std::string("missing scheme; ") + std::string(kAcceptedForms));
  const std::string scheme = lower(url.substr(0, scheme_end));
  std::string_view rest = url.substr(scheme_end + 3);

  if (scheme == "rediss") {
#if HIREDIS_MAJOR < 1
    throw fail("rediss:// (TLS) is not supported by this build: TLS needs hiredis >= 1.0 built with SSL "
               "support, and this cachet was built with hiredis " HIREDIS_VERSION_TEXT ". Use redis:// or "
               "unix://, or a TLS tunnel (e.g. stunnel) on localhost");
#else
    throw fail("rediss:// (TLS) is not supported by cachet yet (built with hiredis " HIREDIS_VERSION_TEXT
               "). Use redis:// or unix://, or a TLS tunnel (e.g. stunnel) on localhost");
#endif
  }
  if (scheme != "redis" && scheme != "unix") {
    throw fail("unknown scheme '" + scheme + "://'; " + std::string(kAcceptedForms));
  }

  std::string_view query;
  if (const auto q = rest.find('?'); q != std::string_view::npos) {
    query = rest.substr(q + 1);
    rest = rest.substr(0, q);
  }
  if (const auto hash = rest.find('#'); hash != std::string_view::npos) {
    throw fail("fragments ('#') are not accepted; percent-encode '#' in a password as %23");
  }

  std::string decoded;
  if (scheme == "unix") {
    if (rest.empty() || rest.front() != '/') {
      throw fail("unix:// URLs take an absolute socket path, e.g. unix:///run/redis/redis.sock; credentials go "
                 "in the query (?password=...)");
    }
    if (!percent_decode(rest, decoded)) throw fail("bad percent-encoding in the socket path");
    o.unix_socket = decoded;
  } else {
    std::string_view authority = rest;
    std::string_view path;
    if (const auto slash = rest.find('/'); slash != std::string_view::npos) {
      authority = rest.substr(0, slash);
      path = rest.substr(slash);
    }
    if (const auto at = authority.rfind('@'); at != std::string_view::npos) {
      const std::string_view userinfo = authority.substr(0, at);
      authority = authority.substr(at + 1);
      const auto colon = userinfo.find(':');
      if (colon == std::string_view::npos) {
        throw fail("credentials must be written ':password@' (password only) or 'username:password@' (ACL user)");
      }
      if (!percent_decode(userinfo.substr(0, colon), decoded)) throw fail("bad percent-encoding in the username");
      o.username = decoded;
      if (!percent_decode(userinfo.substr(colon + 1), decoded)) throw fail("bad percent-encoding in the password");
      o.password = decoded;
    }

    std::string_view port_text;
    if (!authority.empty() && authority.front() == '[') {
      const auto close = authority.find(']');
      if (close == std::string_view::npos) throw fail("missing ']' after the IPv6 address");
      o.host = std::string(authority.substr(1, close - 1));
      if (o.host.find(':') == std::string::npos || !host_problem(o.host).empty()) {
        throw fail("'[" + printable(o.host) + "]' is not an IPv6 address; brackets hold an IPv6 address only "
                   "(hex digits, ':' and '.'), e.g. redis://[::1]:6379");
      }
      const auto after = authority.substr(close + 1);
      if (!after.empty()) {
        if (after.front() != ':') throw fail("unexpected '" + std::string(after) + "' after the IPv6 address");
        port_text = after.substr(1);
        if (port_text.empty()) throw fail("empty port after ':'; accepted: 1-65535");
      }
    } else {
      const auto colon = authority.find(':');
      if (colon != std::string_view::npos && authority.find(':', colon + 1) != std::string_view::npos) {
        throw fail("IPv6 addresses must be in brackets, e.g. redis://[::1]:6379");
      }
      o.host = std::string(authority.substr(0, colon));
      if (o.host.find_first_of("[]") != std::string::npos) {
        throw fail("'[' and ']' are accepted only around a whole IPv6 address, e.g. redis://[::1]:6379");
      }
      if (colon != std::string_view::npos) {
        port_text = authority.substr(colon + 1);
        if (port_text.empty()) throw fail("empty port after ':'; accepted: 1-65535");
      }
    }
    if (o.host.empty()) throw fail("missing host, e.g. redis://localhost:6379/0");
    if (!port_text.empty()) {
      int port = 0;
      if (!parse_int(port_text, port) || port < 1 || port > 65535) {
        throw fail("port '" + std::string(port_text) + "' is not a number between 1 and 65535");
      }
      o.port = port;
    }
    if (path.size() > 1) {
      int db = 0;
      if (!parse_int(path.substr(1), db)) {
        throw fail("database '" + std::string(path.substr(1)) + "' is not a non-negative number (e.g. /0)");
      }
      o.db = db;
    }
  }

  while (!query.empty()) {
    const auto amp = query.find('&');
    const std::string_view item = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    if (item.empty()) continue;
    const auto eq = item.find('=');
    const std::string key(item.substr(0, eq));
    if (eq == std::string_view::npos) throw fail("query parameter '" + key + "' has no value (write " + key + "=...)");
    if (!percent_decode(item.substr(eq + 1), decoded)) {
      throw fail("bad percent-encoding in the value of '" + key + "'");
    }
    const std::string& value = decoded;
    // The range is validate()'s to check, for options from code and URL alike.
    auto duration = [&](std::chrono::milliseconds& out) {
      const auto d = parse::duration(value, parse::kTimeout);
      if (!d) throw fail(key + "='" + value + "' is not a duration; accepted: " + parse::describe(parse::kTimeout));
      out = *d;
    };
    if (key == "connect_timeout") {
      duration(o.connect_timeout);
    } else if (key == "socket_timeout") {
      duration(o.socket_timeout);
    } else if (key == "pool_wait_timeout") {
      duration(o.pool_wait_timeout);
    } else if (key == "pool_size") {
      if (!parse_int(value, o.pool_size)) {
        throw fail("pool_size='" + value + "' is not a number; accepted: 0 (automatic) to " +
                   std::to_string(kMaxPoolSize));
      }
    } else if (key == "db") {
      if (!parse_int(value, o.db)) throw fail("db='" + value + "' is not a non-negative number");
    } else if (key == "username") {
      o.username = value;
    } else if (key == "password") {
      o.password = value;
    } else if (key == "key_prefix") {
      o.key_prefix = value;
    } else {
      throw fail("unknown query parameter '" + key + "'; " + std::string(kAcceptedQuery));
    }
  }

  try {
    o.validate();
  } catch (const ConfigError& e) {
    throw fail(e.what());
  }
  return o;
}

void RedisOptions::validate() const {
  auto fail = [](const std::string& what) { return ConfigError("RedisOptions: " + what); };
  if (unix_socket.empty()) {
    if (host.empty()) throw fail("host is empty; accepted: a host name or IP address, or set unix_socket");
    if (const std::string problem = host_problem(host); !problem.empty()) throw fail(problem);
    if (port < 1 || port > 65535) throw fail("port " + std::to_string(port) + " is out of range; accepted: 1-65535");
  } else {
    if (unix_socket.front() != '/') {
      throw fail("unix_socket '" + printable(unix_socket) + "' is not an absolute path");
    }
    if (std::any_of(unix_socket.begin(), unix_socket.end(), is_control)) {
      // A NUL would silently cut the path short when handed to the C API.
      throw fail("unix_socket '" + printable(unix_socket) +
                 "' contains a control byte (NUL, newline, ...); accepted: an absolute path of printable characters");
    }
    if (unix_socket.size() >= sizeof(sockaddr_un{}.sun_path)) {
      throw fail("unix_socket path is " + std::to_string(unix_socket.size()) + " bytes; accepted: at most " +
                 std::to_string(sizeof(sockaddr_un{}.sun_path) - 1));
    }
  }
  if (db < 0) throw fail("db " + std::to_string(db) + " is negative; accepted: 0 or more");
  if (!username.empty() && password.empty()) {
    throw fail("username '" + username + "' is given without a password; ACL AUTH needs both");
  }
  auto check_timeout = [&](const char* name, std::chrono::milliseconds d) {
    if (!parse::in_range(d, parse::kTimeout)) {
      throw fail(std::string(name) + " " + ms(d) +
                 " is out of range; accepted: " + parse::range_words(parse::kTimeout) + " (no infinite waits)");
    }
  };
  check_timeout("connect_timeout", connect_timeout);
  check_timeout("socket_timeout", socket_timeout);
  check_timeout("pool_wait_timeout", pool_wait_timeout);
  if (pool_size < 0 || pool_size > kMaxPoolSize) {
    throw fail("pool_size " + std::to_string(pool_size) + " is out of range; accepted: 0 (automatic) to " +
               std::to_string(kMaxPoolSize));
  }
  if (default_timeout.is_default()) {
    throw fail("default_timeout is Ttl::use_default(); accepted: a positive duration or Ttl::never()");
  }
}

std::string RedisOptions::redacted_url() const {
  std::string url;
  std::string query;
  auto param = [&query](std::string_view key, const std::string& value) {
    query += query.empty() ? '?' : '&';
    query += key;
    query += '=';
    query += percent_encode(value, ":/");
  };
  if (!unix_socket.empty()) {
    url = "unix://" + percent_encode(unix_socket, "/");
    if (db != 0) param("db", std::to_string(db));
    if (!username.empty()) param("username", username);
    if (!password.empty()) query += std::string(query.empty() ? "?" : "&") + "password=***";
  } else {
    url = "redis://";
    if (!password.empty()) url += percent_encode(username, "") + ":***@";
    url += host.find(':') != std::string::npos ? "[" + host + "]" : host;
    url += ':' + std::to_string(port) + '/' + std::to_string(db);
  }
  const RedisOptions defaults;
  if (connect_timeout != defaults.connect_timeout) param("connect_timeout", ms(connect_timeout));
  if (socket_timeout != defaults.socket_timeout) param("socket_timeout", ms(socket_timeout));
  if (pool_wait_timeout != defaults.pool_wait_timeout) param("pool_wait_timeout", ms(pool_wait_timeout));
  if (pool_size != defaults.pool_size) param("pool_size", std::to_string(pool_size));
  if (key_prefix != defaults.key_prefix) param("key_prefix", key_prefix);
  return url + query;
}

std::string RedisOptions::to_string() const {
  std::string s = "RedisOptions{";
  if (unix_socket.empty()) {
    s += "host=" + host + " port=" + std::to_string(port);
  } else {
    s += "unix_socket=" + unix_socket;
  }
  s += " db=" + std::to_string(db);
  if (!username.empty()) s += " username=" + username;
  s += password.empty() ? " password=(none)" : " password=***";
  s += " connect_timeout=" + ms(connect_timeout) + " socket_timeout=" + ms(socket_timeout);
  s += " pool_size=" + std::to_string(redis::effective_pool_size(*this)) + (pool_size == 0 ? "(auto)" : "");
  s += " pool_wait_timeout=" + ms(pool_wait_timeout);
  s += std::string(" keepalive=") + (keepalive ? "on" : "off");
  s += " key_prefix=\"" + key_prefix + "\"";
  s += " default_timeout=" + default_timeout.to_string();
  s += std::string(" on_error=") + (on_error == ErrorPolicy::Throw ? "throw" : "fail_open");
  s += std::string(" allow_flushdb=") + (allow_flushdb ? "true" : "false");
  s += '}';
  return s;
}

}  // namespace cachet
