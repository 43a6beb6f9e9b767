// RedisOptions printed back: as a URL (redacted_url) and on one line
// (to_string). Neither ever shows a password.
#include <cctype>
#include <string>
#include <string_view>

#include "cachet/redis_cache.hpp"
#include "redis/url.hpp"

namespace cachet {

namespace {

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

std::string ms(std::chrono::milliseconds d) { return std::to_string(d.count()) + "ms"; }

std::string host_port(const std::string& host, int port) {
  return (host.find(':') != std::string::npos ? "[" + host + "]" : host) + ':' + std::to_string(port);
}

std::string node_list(const std::vector<RedisNode>& nodes) {
  std::string out;
  for (const auto& n : nodes) out += (out.empty() ? "" : ",") + host_port(n.host, n.port);
  return out;
}

}  // namespace

const char* to_string(RedisTopology topology) noexcept {
  switch (topology) {
    case RedisTopology::standalone: return "standalone";
    case RedisTopology::cluster: return "cluster";
    case RedisTopology::sentinel: return "sentinel";
  }
  return "unknown";
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
  const std::string credentials = password.empty() ? std::string() : percent_encode(username, "") + ":***@";
  const std::string redis = tls.enabled ? "rediss" : "redis";
  if (topology == RedisTopology::cluster) {
    url = redis + "+cluster://" + credentials + node_list(nodes);
  } else if (topology == RedisTopology::sentinel) {
    url = redis + "+sentinel://" + credentials + node_list(nodes) + '/' + percent_encode(sentinel_master, "") + '/' +
          std::to_string(db);
  } else if (!unix_socket.empty()) {
    url = "unix://" + percent_encode(unix_socket, "/");
    if (db != 0) param("db", std::to_string(db));
    if (!username.empty()) param("username", username);
    if (!password.empty()) query += std::string(query.empty() ? "?" : "&") + "password=***";
  } else {
    url = redis + "://" + credentials + host_port(host, port) + '/' + std::to_string(db);
  }
  const RedisOptions defaults;
  if (connect_timeout != defaults.connect_timeout) param("connect_timeout", ms(connect_timeout));
  if (socket_timeout != defaults.socket_timeout) param("socket_timeout", ms(socket_timeout));
  if (pool_wait_timeout != defaults.pool_wait_timeout) param("pool_wait_timeout", ms(pool_wait_timeout));
  if (pool_size != defaults.pool_size) param("pool_size", std::to_string(pool_size));
  if (key_prefix != defaults.key_prefix) param("key_prefix", key_prefix);
  if (read_from_replicas) param("read_from_replicas", "true");
  if (slot_refresh_interval != defaults.slot_refresh_interval) {
    param("slot_refresh_interval", ms(slot_refresh_interval));
  }
  if (max_redirects != defaults.max_redirects) param("max_redirects", std::to_string(max_redirects));
  if (!sentinel_username.empty()) param("sentinel_username", sentinel_username);
  if (!sentinel_password.empty()) query += std::string(query.empty() ? "?" : "&") + "sentinel_password=***";
  if (tls.enabled) {
    for (const auto& [key, value] : redis::tls_query(tls)) {
      if (value) param(key, *value);
      else query += std::string(query.empty() ? "?" : "&") + key + "=***";
    }
  }
  return url + query;
}

std::string RedisOptions::to_string() const {
  std::string s = "RedisOptions{";
  if (topology != RedisTopology::standalone) {
    s += std::string("topology=") + cachet::to_string(topology) + " nodes=" + node_list(nodes);
    if (topology == RedisTopology::sentinel) {
      s += " sentinel_master=" + sentinel_master;
      if (!sentinel_username.empty()) s += " sentinel_username=" + sentinel_username;
      s += sentinel_password.empty() ? " sentinel_password=(none)" : " sentinel_password=***";
    } else {
      s += std::string(" read_from_replicas=") + (read_from_replicas ? "true" : "false");
      s += " slot_refresh_interval=" + ms(slot_refresh_interval);
    }
    s += " max_redirects=" + std::to_string(max_redirects);
  } else if (unix_socket.empty()) {
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
  s += ' ' + tls.to_string();
  s += " key_prefix=\"" + key_prefix + "\"";
  s += " default_timeout=" + default_timeout.to_string();
  s += std::string(" on_error=") + (on_error == ErrorPolicy::Throw ? "throw" : "fail_open");
  s += std::string(" allow_flushdb=") + (allow_flushdb ? "true" : "false");
  s += '}';
  return s;
}

}  // namespace cachet
