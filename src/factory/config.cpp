// CacheConfig: reading its keys from the environment or a map, validating
// them, and turning them into backend options. What each key is, accepts and
// defaults to lives in one place, the table of factory/config_keys.cpp; this
// file walks it and holds the rules that span keys (the production rule, the
// REDIS_URL / CACHE_KEY_PREFIX agreement).
#include "cachet/config.hpp"

#include <cstdlib>
#include <string_view>
#include <tuple>
#include <utility>

#include "cachet/errors.hpp"
#include "core/parse.hpp"
#include "core/redact.hpp"
#include "factory/config_keys.hpp"
#include "factory/tls_keys.hpp"
#include "redis/url.hpp"

namespace cachet {

const char* to_string(CacheType type) noexcept {
  switch (type) {
    case CacheType::simple: return "simple";
    case CacheType::redis: return "redis";
    case CacheType::null: return "null";
    case CacheType::hybrid: return "hybrid";
  }
  return "unknown";
}

const char* to_string(FallbackMode mode) noexcept {
  switch (mode) {
    case FallbackMode::startup: return "startup";
    case FallbackMode::none: return "none";
    case FallbackMode::runtime: return "runtime";
  }
  return "unknown";
}

namespace {

// True when the URL's query string sets `name` (e.g. key_prefix).
bool url_query_has(std::string_view url, std::string_view name) {
  const auto q = url.find('?');
  if (q == std::string_view::npos) return false;
  std::size_t pos = q + 1;
  while (pos < url.size()) {
    std::size_t end = url.find('&', pos);
    if (end == std::string_view::npos) end = url.size();
    const std::string_view param = url.substr(pos, end - pos);
    if (param.substr(0, param.find('=')) == name) return true;
    pos = end + 1;
  }
  return false;
}

const char* type_name(RedisTopology t) {
  switch (t) {
    case RedisTopology::cluster: return "CACHE_TYPE=RedisClusterCache";
    case RedisTopology::sentinel: return "CACHE_TYPE=RedisSentinelCache";
    case RedisTopology::standalone: break;
  }
  return "CACHE_TYPE=redis";
}

// True when `url`'s scheme is `scheme` ("redis+cluster") with or without TLS
// ("rediss+cluster").
bool url_scheme_is(std::string_view url, std::string_view scheme) {
  std::string given = parse::lower(url.substr(0, url.find("://")));
  if (given.compare(0, 6, "rediss") == 0) given.erase(5, 1);
  return given == scheme;
}

// The URL the Redis options come from, and the key that gave it: REDIS_URL,
// or one built from the Flask-Caching keys. ConfigError naming both keys when
// they mix topologies.
std::pair<std::string, const char*> redis_source(const CacheConfig& c) {
  const bool sentinel_keys = !c.redis_sentinels.empty() || !c.redis_sentinel_master.empty();
  if (!c.redis_cluster.empty() && c.redis_topology != RedisTopology::cluster) {
    throw ConfigError(std::string("CACHE_REDIS_CLUSTER is set but ") + type_name(c.redis_topology) +
                      "; accepted: CACHE_TYPE=RedisClusterCache with CACHE_REDIS_CLUSTER");
  }
  if (sentinel_keys && c.redis_topology != RedisTopology::sentinel) {
    throw ConfigError(std::string("CACHE_REDIS_SENTINELS / CACHE_REDIS_SENTINEL_MASTER are set but ") +
                      type_name(c.redis_topology) +
                      "; accepted: CACHE_TYPE=RedisSentinelCache with CACHE_REDIS_SENTINELS and "
                      "CACHE_REDIS_SENTINEL_MASTER");
  }
  if (c.redis_topology == RedisTopology::cluster) {
    if (c.redis_cluster.empty()) {
      if (c.redis_url_set && url_scheme_is(c.redis_url, "redis+cluster")) return {c.redis_url, "REDIS_URL"};
      throw ConfigError("CACHE_TYPE=RedisClusterCache needs CACHE_REDIS_CLUSTER or a redis+cluster:// (rediss+cluster://) REDIS_URL");
    }
    if (c.redis_url_set) {
      throw ConfigError("CACHE_REDIS_CLUSTER and REDIS_URL are both set; accepted: the cluster's nodes in one of them");
    }
    return {"redis+cluster://" + c.redis_cluster, "CACHE_REDIS_CLUSTER"};
  }
  if (c.redis_topology == RedisTopology::sentinel) {
    if (!sentinel_keys) {
      if (c.redis_url_set && url_scheme_is(c.redis_url, "redis+sentinel")) return {c.redis_url, "REDIS_URL"};
      throw ConfigError(
          "CACHE_TYPE=RedisSentinelCache needs CACHE_REDIS_SENTINELS and CACHE_REDIS_SENTINEL_MASTER, or a "
          "redis+sentinel:// (rediss+sentinel://) REDIS_URL");
    }
    if (c.redis_sentinels.empty() || c.redis_sentinel_master.empty()) {
      throw ConfigError(std::string(c.redis_sentinels.empty() ? "CACHE_REDIS_SENTINEL_MASTER" : "CACHE_REDIS_SENTINELS") +
                        " is set without " +
                        (c.redis_sentinels.empty() ? "CACHE_REDIS_SENTINELS" : "CACHE_REDIS_SENTINEL_MASTER") +
                        "; accepted: both");
    }
    if (c.redis_url_set) {
      throw ConfigError("CACHE_REDIS_SENTINELS and REDIS_URL are both set; accepted: the sentinels in one of them");
    }
    return {"redis+sentinel://" + c.redis_sentinels + "/" + c.redis_sentinel_master, "CACHE_REDIS_SENTINELS"};
  }
  return {c.redis_url, "REDIS_URL"};
}

}  // namespace

CacheConfig CacheConfig::from_env() {
  std::map<std::string, std::string> values;
  for (const auto& key : detail::config_key_table()) {
    if (const char* v = std::getenv(key.name)) values.emplace(key.name, v);
  }
  return from_map(values);
}

CacheConfig CacheConfig::from_map(const std::map<std::string, std::string>& values) {
  CacheConfig c;
  for (const auto& key : detail::config_key_table()) {
    if (const auto it = values.find(key.name); it != values.end()) detail::read_key(key, c, it->second);
  }
  c.validate();
  return c;
}

void CacheConfig::validate() const {
  for (const auto& key : detail::config_key_table()) detail::check_key(key, *this);

  if (uses_redis()) {
    if (production() && !redis_url_set && redis_cluster.empty() && redis_sentinels.empty()) {
      throw ConfigError(std::string("REDIS_URL must be set when CACHE_TYPE=") + cachet::to_string(type) +
                        " in production");
    }
    (void)redis_options();  // parses and validates the URL and the overrides
  }
  if (loader_hard_timeout.count() > 0 && loader_soft_timeout > loader_hard_timeout) {
    throw ConfigError("CACHE_LOADER_HARD_TIMEOUT=" + parse::duration_text(loader_hard_timeout) +
                      " is shorter than CACHE_LOADER_SOFT_TIMEOUT=" + parse::duration_text(loader_soft_timeout) +
                      "; accepted: 0 (none) or a duration >= CACHE_LOADER_SOFT_TIMEOUT");
  }
}

RedisOptions CacheConfig::redis_options() const {
  const detail::ConfigKey& url_key = detail::config_key("REDIS_URL");
  if (redis_url.empty()) detail::reject_empty(url_key);
  const auto [url, source] = redis_source(*this);
  RedisOptions o;
  try {
    o = redis::parse_url(url, /*check_tls=*/false);  // TLS checked below, with CACHE_REDIS_TLS_* applied
  } catch (const ConfigError& e) {
    // from_url's message already quotes the URL (password redacted); scrub()
    // is the belt to its braces.
    std::string msg = std::string(source) + " is not valid: " + e.what();
    if (msg.find(url) == std::string::npos && msg.find(detail::redact_url(url)) == std::string::npos) {
      msg += std::string(" (") + source + "=" + parse::quote(detail::redact_url(url)) + ")";
    }
    if (msg.find("accepted") == std::string::npos) msg += "; accepted: " + url_key.value.accepted;
    throw ConfigError(detail::scrub(std::move(msg), url));
  }
  if (!redis_password.empty()) {
    if (!o.password.empty() && o.password != redis_password) {
      throw ConfigError("CACHE_REDIS_PASSWORD and the password in REDIS_URL disagree (values not shown); "
                        "accepted: the password in one place, or the same in both");
    }
    o.password = redis_password;
  }

  const bool url_has_prefix = url_query_has(url, "key_prefix");
  if (key_prefix_set && url_has_prefix && o.key_prefix != key_prefix) {
    throw ConfigError(detail::scrub("CACHE_KEY_PREFIX=" + parse::quote(key_prefix) +
                                        " and the key_prefix of REDIS_URL (" + parse::quote(o.key_prefix) +
                                        ") disagree; accepted: the prefix set in one place, or the same value in both",
                                    url));
  }
  if (key_prefix_set || !url_has_prefix) o.key_prefix = key_prefix;
  o.default_timeout = default_timeout;
  if (redis_connect_timeout) o.connect_timeout = *redis_connect_timeout;
  if (redis_socket_timeout) o.socket_timeout = *redis_socket_timeout;
  if (redis_pool_size) o.pool_size = *redis_pool_size;
  detail::apply_tls_keys(*this, o, source);
  try {
    o.validate();
  } catch (const ConfigError& e) {
    throw ConfigError(detail::scrub(std::string("Redis options from REDIS_URL and CACHE_REDIS_*: ") + e.what(),
                                    url));
  }
  return o;
}

SimpleCacheOptions CacheConfig::simple_options() const {
  SimpleCacheOptions o;
  o.max_items = threshold;
  o.max_bytes = max_bytes;
  o.default_timeout = default_timeout;
  return o;
}

LoadOptions CacheConfig::load_options() const {
  LoadOptions o;
  std::tie(o.fail_safe, o.distributed_lock, o.eager_refresh) = std::tie(fail_safe, distributed_lock, eager_refresh);
  std::tie(o.fail_safe_max, o.fail_safe_throttle) = std::tie(fail_safe_max, fail_safe_throttle);
  std::tie(o.soft_timeout, o.hard_timeout) = std::tie(loader_soft_timeout, loader_hard_timeout);
  return o;
}

std::string CacheConfig::to_string() const {
  // For Redis, show what will actually be used where the URL decides.
  std::optional<RedisOptions> effective;
  if (uses_redis()) {
    try {
      effective = redis_options();
    } catch (const ConfigError&) {
      effective.reset();
    }
  }
  std::string s;
  for (const auto& key : detail::config_key_table()) {
    if (!key.value.show) continue;
    s += key.value.label ? key.value.label : key.name;
    s += '=';
    s += key.value.show(*this, effective ? &*effective : nullptr);
    s += '\n';
  }
  return s;
}

}  // namespace cachet
