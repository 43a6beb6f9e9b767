// RedisOptions: URL parsing, validation, redacted printing.
#include <algorithm>
#include <cctype>
#include <functional>
#include <string>
#include <string_view>
#include <sys/un.h>
#include <thread>

#include "cachet/redis_cache.hpp"
#include "core/parse.hpp"
#include "core/redact.hpp"
#include "redis/url.hpp"

namespace cachet {

namespace {

constexpr std::string_view kAcceptedForms =
    "accepted: redis[s]://[[username]:password@]host[:port][/db][?query], unix:///path/to/redis.sock[?query], "
    "redis[s]+cluster://[[username]:password@]host1:port1[,host2:port2...][?query] or "
    "redis[s]+sentinel://[[username]:password@]host1:port1[,host2:port2...]/<master-name>[/db][?query]";
constexpr std::string_view kAcceptedQuery =
    "accepted: connect_timeout, socket_timeout, pool_wait_timeout, pool_size, db, username, password, key_prefix, "
    "read_from_replicas, slot_refresh_interval, max_redirects, sentinel_username, sentinel_password, and with "
    "rediss:// the ssl_* keys";
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

namespace {

using Fail = redis::UrlFail;

// Slot-map refreshes: a bare number is milliseconds; 1 s to 1 h.
constexpr parse::DurationRule kRefreshRule{std::chrono::milliseconds(1), std::chrono::seconds(1),
                                           std::chrono::hours(1)};
constexpr int kMaxRedirects = 16;

// "host[:port]" or "[ipv6][:port]" into host and port; port keeps its value
// when the text names none.
void parse_endpoint(std::string_view authority, std::string& host, int& port, const Fail& fail) {
  std::string_view port_text;
  if (!authority.empty() && authority.front() == '[') {
    const auto close = authority.find(']');
    if (close == std::string_view::npos) throw fail("missing ']' after the IPv6 address");
    host = std::string(authority.substr(1, close - 1));
    if (host.find(':') == std::string::npos || !host_problem(host).empty()) {
      throw fail("'[" + printable(host) + "]' is not an IPv6 address; brackets hold an IPv6 address only "
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
    host = std::string(authority.substr(0, colon));
    if (host.find_first_of("[]") != std::string::npos) {
      throw fail("'[' and ']' are accepted only around a whole IPv6 address, e.g. redis://[::1]:6379");
    }
    if (colon != std::string_view::npos) {
      port_text = authority.substr(colon + 1);
      if (port_text.empty()) throw fail("empty port after ':'; accepted: 1-65535");
    }
  }
  if (host.empty()) throw fail("missing host, e.g. redis://localhost:6379/0");
  if (!port_text.empty()) {
    int p = 0;
    if (!parse_int(port_text, p) || p < 1 || p > 65535) {
      throw fail("port '" + std::string(port_text) + "' is not a number between 1 and 65535");
    }
    port = p;
  }
}

int parse_db(std::string_view text, const Fail& fail) {
  int db = 0;
  if (!parse_int(text, db)) throw fail("database '" + std::string(text) + "' is not a non-negative number (e.g. /0)");
  return db;
}

// The query string's keys into `o` (the range is validate()'s to check).
void apply_query(RedisOptions& o, std::string_view query, const Fail& fail) {
  std::string decoded;
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
    auto duration = [&](std::chrono::milliseconds& out, const parse::DurationRule& rule) {
      const auto d = parse::duration(value, rule);
      if (!d) throw fail(key + "='" + value + "' is not a duration; accepted: " + parse::describe(rule));
      out = *d;
    };
    if (key == "connect_timeout") {
      duration(o.connect_timeout, parse::kTimeout);
    } else if (key == "socket_timeout") {
      duration(o.socket_timeout, parse::kTimeout);
    } else if (key == "pool_wait_timeout") {
      duration(o.pool_wait_timeout, parse::kTimeout);
    } else if (key == "slot_refresh_interval") {
      duration(o.slot_refresh_interval, kRefreshRule);
    } else if (key == "pool_size") {
      if (!parse_int(value, o.pool_size)) {
        throw fail("pool_size='" + value + "' is not a number; accepted: 0 (automatic) to " +
                   std::to_string(kMaxPoolSize));
      }
    } else if (key == "max_redirects") {
      if (!parse_int(value, o.max_redirects)) {
        throw fail("max_redirects='" + value + "' is not a number; accepted: 0 to " + std::to_string(kMaxRedirects));
      }
    } else if (key == "read_from_replicas") {
      const auto b = parse::boolean(value);
      if (!b) throw fail("read_from_replicas='" + value + "' is not a boolean; accepted: " + parse::describe_boolean());
      o.read_from_replicas = *b;
    } else if (key == "db") {
      if (!parse_int(value, o.db)) throw fail("db='" + value + "' is not a non-negative number");
    } else if (key == "username") {
      o.username = value;
    } else if (key == "password") {
      o.password = value;
    } else if (key == "sentinel_username") {
      o.sentinel_username = value;
    } else if (key == "sentinel_password") {
      o.sentinel_password = value;
    } else if (key == "key_prefix") {
      o.key_prefix = value;
    } else if (key.compare(0, 4, "ssl_") == 0) {
      if (!o.tls.enabled) {
        throw fail("'" + key + "' is a TLS option, and this URL does not use TLS; accepted: the same URL with " +
                   (o.unix_socket.empty() ? "rediss:// (or rediss+cluster://, rediss+sentinel://)"
                                          : "host and port instead of a unix socket, which Redis never serves "
                                            "over TLS"));
      }
      redis::apply_tls_query(o.tls, key, value, fail);
    } else {
      throw fail("unknown query parameter '" + key + "'; " + std::string(kAcceptedQuery));
    }
  }
}

// The comma-separated nodes of a redis+cluster:// or redis+sentinel:// URL.
void parse_nodes(RedisOptions& o, std::string_view list, const Fail& fail) {
  const int default_port = o.topology == RedisTopology::sentinel ? 26379 : 6379;
  while (true) {
    const auto comma = list.find(',');
    const std::string_view item = list.substr(0, comma);
    if (item.empty()) throw fail("empty host in the node list; accepted: host1:port1,host2:port2,...");
    RedisNode node;
    node.port = default_port;
    parse_endpoint(item, node.host, node.port, fail);
    o.nodes.push_back(std::move(node));
    if (comma == std::string_view::npos) break;
    list = list.substr(comma + 1);
  }
}

// A sentinel URL's path: "/<master>[/db]".
void parse_sentinel_path(RedisOptions& o, std::string_view path, const Fail& fail) {
  if (path.size() <= 1) {
    throw fail("missing the master's name: redis+sentinel://host:26379,.../<master-name>[/db]");
  }
  path.remove_prefix(1);
  const auto slash = path.find('/');
  std::string decoded;
  if (!percent_decode(path.substr(0, slash), decoded)) throw fail("bad percent-encoding in the master's name");
  o.sentinel_master = decoded;
  if (slash != std::string_view::npos && slash + 1 < path.size()) o.db = parse_db(path.substr(slash + 1), fail);
}

}  // namespace

RedisOptions RedisOptions::from_url(std::string_view url) { return redis::parse_url(url, true); }

RedisOptions redis::parse_url(std::string_view url, bool check_tls) {
  RedisOptions o;
  const Fail fail = [&](const std::string& what) {
    // `what` may quote a part of the URL that holds a secret (a malformed query
    // swallowing "password=..."): scrub every secret of the URL from it too.
    return ConfigError(detail::scrub("invalid Redis URL '" + detail::redact_url(url) + "': " + what, url));
  };

  const auto scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos) throw fail(std::string("missing scheme; ") + std::string(kAcceptedForms));
  const std::string scheme = lower(url.substr(0, scheme_end));
  std::string_view rest = url.substr(scheme_end + 3);

  // rediss schemes: TLS to every data node (and to the sentinels).
  std::string plain = scheme;
  if (plain.compare(0, 6, "rediss") == 0) {
    o.tls.enabled = true;
    plain.erase(5, 1);
  }
  if (plain == "redis+cluster") o.topology = RedisTopology::cluster;
  if (plain == "redis+sentinel") o.topology = RedisTopology::sentinel;
  if (plain != "redis" && scheme != "unix" && o.topology == RedisTopology::standalone) {
    throw fail("unknown scheme '" + scheme + "://'; " + std::string(kAcceptedForms));
  }
  if (o.tls.enabled && !rest.empty() && rest.front() == '/') {
    throw fail("TLS (" + scheme + "://) cannot be used with a unix socket: Redis serves TLS on TCP ports only; "
               "accepted: " + scheme + "://host:port, or unix:///path/to/redis.sock without TLS");
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
    if (o.topology == RedisTopology::standalone) {
      parse_endpoint(authority, o.host, o.port, fail);
      if (path.size() > 1) o.db = parse_db(path.substr(1), fail);
    } else {
      parse_nodes(o, authority, fail);
      if (o.topology == RedisTopology::sentinel) {
        parse_sentinel_path(o, path, fail);
      } else if (path.size() > 1) {
        o.db = parse_db(path.substr(1), fail);
      }
    }
  }

  apply_query(o, query, fail);

  try {
    if (check_tls) {
      o.validate();
    } else {
      RedisOptions without_tls = o;  // TLS is checked once the caller's overrides are in
      without_tls.tls = TlsOptions{};
      without_tls.validate();
    }
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
  if (tls.enabled) {
    if (!unix_socket.empty()) {
      throw fail("TLS (rediss://, tls.enabled) cannot be used with a unix socket ('" + printable(unix_socket) +
                 "'): Redis serves TLS on TCP ports only; set host and port instead");
    }
    try {
      tls.validate();
    } catch (const ConfigError& e) {
      throw fail(e.what());
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
  validate_topology();
}

void RedisOptions::validate_topology() const {
  auto fail = [](const std::string& what) { return ConfigError("RedisOptions: " + what); };
  const bool cluster = topology == RedisTopology::cluster;
  const bool sentinel = topology == RedisTopology::sentinel;
  if (!cluster && !sentinel) {
    if (!nodes.empty()) throw fail("nodes are given but topology is standalone; accepted: nodes with cluster or sentinel");
  } else {
    if (nodes.empty()) {
      throw fail(std::string("topology ") + cachet::to_string(topology) + " needs at least one node in `nodes`");
    }
    if (!unix_socket.empty()) throw fail("unix_socket is not used with cluster or sentinel; accepted: nodes (TCP)");
    for (const auto& node : nodes) {
      if (node.host.empty()) throw fail("a node has an empty host");
      if (const std::string problem = host_problem(node.host); !problem.empty()) throw fail(problem);
      if (node.port < 1 || node.port > 65535) {
        throw fail("node port " + std::to_string(node.port) + " is out of range; accepted: 1-65535");
      }
    }
  }
  if (cluster && db != 0) {
    throw fail("db " + std::to_string(db) + " with a cluster; accepted: 0 (Redis Cluster has database 0 only)");
  }
  if (sentinel) {
    if (sentinel_master.empty()) throw fail("sentinel_master is empty; accepted: the master's name, e.g. mymaster");
    if (std::any_of(sentinel_master.begin(), sentinel_master.end(), [](char c) { return is_control(c) || c == ' '; })) {
      throw fail("sentinel_master '" + printable(sentinel_master) + "' contains a space or control byte");
    }
    if (!sentinel_username.empty() && sentinel_password.empty()) {
      throw fail("sentinel_username '" + sentinel_username + "' is given without a sentinel_password");
    }
  } else if (!sentinel_master.empty() || !sentinel_username.empty() || !sentinel_password.empty()) {
    throw fail("sentinel_master, sentinel_username and sentinel_password are for topology sentinel only");
  }
  if (read_from_replicas && !cluster) throw fail("read_from_replicas is for topology cluster only");
  if (!parse::in_range(slot_refresh_interval, kRefreshRule)) {
    throw fail("slot_refresh_interval " + ms(slot_refresh_interval) +
               " is out of range; accepted: " + parse::range_words(kRefreshRule));
  }
  if (max_redirects < 0 || max_redirects > kMaxRedirects) {
    throw fail("max_redirects " + std::to_string(max_redirects) + " is out of range; accepted: 0 to " +
               std::to_string(kMaxRedirects));
  }
}

}  // namespace cachet
