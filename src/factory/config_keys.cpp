// The table of configuration keys (config_keys.hpp): the builders, one per kind
// of value, then the table itself. A row names the key, says in one line what
// it is for, and picks a builder with the CacheConfig field and the range; the
// builder derives the parser, the "accepted" text, the default (from the
// in-class default of CacheConfig) and how to_string() shows the value.
#include "factory/config_keys.hpp"

#include <cstdint>
#include <initializer_list>
#include <stdexcept>
#include <string_view>
#include <type_traits>
#include <utility>

#include "cachet/errors.hpp"
#include "core/parse.hpp"
#include "core/redact.hpp"
#include "factory/tls_keys.hpp"

namespace cachet {

namespace {

using std::chrono::milliseconds;
using detail::KeyValue;

// The value type a field holds: T for T and for std::optional<T>. An unset
// optional field means "not configured here" and is never out of range.
template <class T>
struct Held {
  using type = T;
  static const T* get(const T& v) { return &v; }
};
template <class T>
struct Held<std::optional<T>> {
  using type = T;
  static const T* get(const std::optional<T>& v) { return v ? &*v : nullptr; }
};

// A whole number in [min, max], as `parse` reads it, into an integer field.
template <class Field>
KeyValue number(Field CacheConfig::*field, std::uint64_t min, std::uint64_t max,
                std::optional<std::uint64_t> (*parse)(std::string_view), std::string accepted) {
  using Int = typename Held<Field>::type;
  KeyValue v;
  v.accepted = std::move(accepted);
  v.read = [=](CacheConfig& c, const std::string& text) {
    const auto n = parse(text);
    if (!n || *n < min || *n > max) return false;
    c.*field = static_cast<Int>(*n);
    return true;
  };
  v.invalid = [=](const CacheConfig& c) -> std::optional<std::string> {
    const Int* n = Held<Field>::get(c.*field);
    if (n == nullptr) return std::nullopt;
    if constexpr (std::is_signed_v<Int>) {
      if (*n < 0) return std::to_string(*n);
    }
    const auto u = static_cast<std::uint64_t>(*n);
    if (u >= min && u <= max) return std::nullopt;
    return std::to_string(*n);
  };
  if constexpr (std::is_same_v<Field, Int>) {
    v.default_text = std::to_string(CacheConfig{}.*field);
    v.show = [=](const CacheConfig& c, const RedisOptions*) { return std::to_string(c.*field); };
  }
  return v;
}

template <class Field>
KeyValue whole(Field CacheConfig::*field, std::uint64_t min, std::uint64_t max) {
  return number(field, min, max, &parse::whole, parse::describe_whole(min, max));
}

template <class Field>
KeyValue size(Field CacheConfig::*field, std::uint64_t min, std::uint64_t max) {
  return number(field, min, max, &parse::bytes, parse::describe_bytes(min, max));
}

// A duration under `rule` into a milliseconds field.
template <class Field>
KeyValue duration(Field CacheConfig::*field, parse::DurationRule rule) {
  KeyValue v;
  v.accepted = parse::describe(rule);
  v.read = [=](CacheConfig& c, const std::string& text) {
    const auto d = parse::duration(text, rule);
    if (!d || !parse::in_range(*d, rule)) return false;
    c.*field = *d;
    return true;
  };
  v.invalid = [=](const CacheConfig& c) -> std::optional<std::string> {
    const milliseconds* d = Held<Field>::get(c.*field);
    if (d == nullptr || parse::in_range(*d, rule)) return std::nullopt;
    return parse::duration_text(*d);
  };
  if constexpr (std::is_same_v<Field, milliseconds>) {
    v.default_text = parse::duration_text(CacheConfig{}.*field);
    v.show = [=](const CacheConfig& c, const RedisOptions*) { return parse::duration_text(c.*field); };
  }
  return v;
}

// A TTL: a duration under `rule` (whose minimum is 0), 0 = never expire.
KeyValue ttl(Ttl CacheConfig::*field, parse::DurationRule rule) {
  KeyValue v;
  v.accepted = parse::describe(rule) + "; 0 = never expire";
  v.default_text = parse::duration_text((CacheConfig{}.*field).duration());
  v.read = [=](CacheConfig& c, const std::string& text) {
    const auto d = parse::duration(text, rule);
    if (!d || !parse::in_range(*d, rule)) return false;
    c.*field = d->count() == 0 ? Ttl::never() : Ttl(*d);
    return true;
  };
  v.invalid = [=](const CacheConfig& c) -> std::optional<std::string> {
    const Ttl t = c.*field;
    if (t.is_default()) return std::string("Ttl::use_default()");
    if (t.is_never() || parse::in_range(t.duration(), rule)) return std::nullopt;
    return parse::duration_text(t.duration());
  };
  v.show = [=](const CacheConfig& c, const RedisOptions*) {
    const Ttl t = c.*field;
    return t.is_never() ? std::string("0 (never expire)") : parse::duration_text(t.duration());
  };
  return v;
}

// One of a few names (case-insensitive) into an enum field; `aliases` are
// further spellings of the same values.
template <class Enum>
KeyValue choice(Enum CacheConfig::*field, std::initializer_list<std::pair<const char*, Enum>> names,
                std::initializer_list<std::pair<const char*, Enum>> aliases = {}) {
  std::vector<std::pair<std::string, Enum>> all;
  std::vector<std::string> shown;
  std::vector<std::string> also;
  for (const auto& [name, value] : names) {
    shown.emplace_back(name);
    all.emplace_back(parse::lower(name), value);
  }
  for (const auto& [name, value] : aliases) {
    also.emplace_back(name);
    all.emplace_back(parse::lower(name), value);
  }
  KeyValue v;
  v.accepted = parse::either(shown);
  if (!also.empty()) {
    std::string list;
    for (const auto& a : also) list += (list.empty() ? "" : ", ") + a;
    v.accepted += " (also " + list + ")";
  }
  v.accepted += ", case-insensitive";
  v.default_text = cachet::to_string(CacheConfig{}.*field);
  v.read = [=](CacheConfig& c, const std::string& text) {
    const std::string wanted = parse::lower(text);
    for (const auto& [name, value] : all) {
      if (name == wanted) {
        c.*field = value;
        return true;
      }
    }
    return false;
  };
  v.show = [=](const CacheConfig& c, const RedisOptions*) { return std::string(cachet::to_string(c.*field)); };
  return v;
}

// REDIS_URL: read only for CACHE_TYPE=redis (it is often shared with other
// components, and may be a rediss:// URL this build cannot use); parsed and
// checked by validate() through redis_options().
KeyValue redis_url() {
  KeyValue v;
  v.accepted =
      "redis:// or rediss:// (TLS) [[username]:password@]host[:port][/db][?query], "
      "unix:///path/to/redis.sock[?db=N], redis[s]+cluster://host1:port1,host2:port2,...[?query] or "
      "redis[s]+sentinel://host1:port1,.../<master>[/db][?query] (see docs/redis.md)";
  v.default_text = CacheConfig{}.redis_url;
  v.applies = [](const CacheConfig& c) { return c.uses_redis(); };
  v.read = [](CacheConfig& c, const std::string& text) {
    c.redis_url = text;
    c.redis_url_set = true;
    return true;
  };
  v.show = [](const CacheConfig& c, const RedisOptions*) {
    if (!c.uses_redis()) return std::string("(not used)");
    return detail::redact_url(c.redis_url) + (c.redis_url_set ? "" : " (default)");
  };
  return v;
}

// CACHE_KEY_PREFIX: any text up to `max` bytes, "" = no prefix. Shown as the
// prefix Redis will use (the URL's key_prefix applies when this key is unset).
KeyValue key_prefix(std::size_t max) {
  KeyValue v;
  v.accepted = "any text up to " + std::to_string(max) + " bytes (the empty string = no prefix)";
  v.default_text = parse::quote(CacheConfig{}.key_prefix);
  v.empty_ok = true;
  v.read = [=](CacheConfig& c, const std::string& text) {
    if (text.size() > max) return false;
    c.key_prefix = text;
    c.key_prefix_set = true;
    return true;
  };
  v.invalid = [=](const CacheConfig& c) -> std::optional<std::string> {
    if (c.key_prefix.size() <= max) return std::nullopt;
    return parse::quote(c.key_prefix);
  };
  v.show = [](const CacheConfig& c, const RedisOptions* redis) {
    const std::string& used = redis ? redis->key_prefix : c.key_prefix;
    const bool from_default = !c.key_prefix_set && used == c.key_prefix;
    return parse::quote(used) + (from_default ? " (default)" : "");
  };
  return v;
}

// A CACHE_REDIS_* timeout: overrides the URL's `query` parameter (the
// RedisOptions field `url_field`) when set.
KeyValue redis_timeout(std::optional<milliseconds> CacheConfig::*field, milliseconds RedisOptions::*url_field,
                       const char* query) {
  KeyValue v = duration(field, parse::kTimeout);
  v.default_text = std::string("REDIS_URL's ") + query + ", else " + parse::duration_text(RedisOptions{}.*url_field);
  v.show = [=](const CacheConfig& c, const RedisOptions* redis) {
    if (c.*field) return parse::duration_text(*(c.*field));
    if (redis) return parse::duration_text(redis->*url_field) + " (from REDIS_URL or default)";
    return std::string("(from REDIS_URL or default)");
  };
  return v;
}

// CACHE_REDIS_POOL_SIZE: overrides the URL's pool_size when set.
KeyValue redis_pool_size(std::uint64_t min, std::uint64_t max) {
  KeyValue v = whole(&CacheConfig::redis_pool_size, min, max);
  v.default_text = "REDIS_URL's pool_size, else automatic";
  v.show = [](const CacheConfig& c, const RedisOptions* redis) {
    if (c.redis_pool_size) return std::to_string(*c.redis_pool_size);
    if (redis && redis->pool_size != 0) return std::to_string(redis->pool_size) + " (from REDIS_URL)";
    return std::string("auto");
  };
  return v;
}

// APP_ENV / CACHE_ENV: any name, lower-cased; "production" turns on the
// production rule. The row read later wins when its value is not empty, so
// CACHE_ENV (the more specific) is the second row; the first shows both.
KeyValue environment(bool first) {
  KeyValue v;
  v.accepted = "any name; production (case-insensitive) turns on the production rule";
  v.default_text = "unset";
  v.empty_ok = true;
  v.read = [=](CacheConfig& c, const std::string& text) {
    if (first || !text.empty()) c.environment = parse::lower(text);
    return true;
  };
  if (first) {
    v.label = "APP_ENV/CACHE_ENV";
    v.show = [](const CacheConfig& c, const RedisOptions*) {
      if (c.environment.empty()) return std::string("(unset)");
      return parse::quote(c.environment) + (c.production() ? " (production rules on)" : "");
    };
  }
  return v;
}

// CACHE_TYPE: the choice of backend, where Flask-Caching's RedisClusterCache
// and RedisSentinelCache are Redis with a topology (redis_topology).
KeyValue cache_type() {
  KeyValue v = choice(&CacheConfig::type,
                      {{"simple", CacheType::simple},
                       {"redis", CacheType::redis},
                       {"null", CacheType::null},
                       {"hybrid", CacheType::hybrid}},
                      {{"SimpleCache", CacheType::simple},
                       {"RedisCache", CacheType::redis},
                       {"RedisClusterCache", CacheType::redis},
                       {"RedisSentinelCache", CacheType::redis},
                       {"NullCache", CacheType::null},
                       {"HybridCache", CacheType::hybrid}});
  v.read = [read = v.read](CacheConfig& c, const std::string& text) {
    if (!read(c, text)) return false;
    const std::string name = parse::lower(text);
    c.redis_topology = name == "redisclustercache"    ? RedisTopology::cluster
                       : name == "redissentinelcache" ? RedisTopology::sentinel
                                                      : RedisTopology::standalone;
    return true;
  };
  v.show = [](const CacheConfig& c, const RedisOptions*) {
    std::string shown = cachet::to_string(c.type);
    if (c.type == CacheType::redis && c.redis_topology != RedisTopology::standalone) {
      shown += std::string(" (") + cachet::to_string(c.redis_topology) + ")";
    }
    return shown;
  };
  return v;
}

// A Flask-Caching Redis key holding text (a node list, a master's name, a
// password), read only for CACHE_TYPE=redis; the rules that tie it to
// CACHE_TYPE and REDIS_URL are in CacheConfig::redis_options().
KeyValue redis_text(std::string CacheConfig::*field, std::string accepted, bool secret) {
  KeyValue v;
  v.accepted = std::move(accepted);
  v.default_text = "unset";
  v.applies = [](const CacheConfig& c) { return c.type == CacheType::redis; };
  v.read = [=](CacheConfig& c, const std::string& text) {
    c.*field = text;
    return true;
  };
  v.show = [=](const CacheConfig& c, const RedisOptions*) {
    if ((c.*field).empty()) return std::string("(unset)");
    return secret ? std::string("***") : parse::quote(c.*field);
  };
  return v;
}

// true/false (and the other spellings of parse::boolean) into a bool field.
KeyValue flag(bool CacheConfig::*field) {
  KeyValue v;
  v.accepted = parse::describe_boolean();
  v.default_text = CacheConfig{}.*field ? "true" : "false";
  v.read = [=](CacheConfig& c, const std::string& text) {
    const auto b = parse::boolean(text);
    if (!b) return false;
    c.*field = *b;
    return true;
  };
  v.show = [=](const CacheConfig& c, const RedisOptions*) { return std::string(c.*field ? "true" : "false"); };
  return v;
}

// 0 or a fraction in (0, 1) into a double field.
KeyValue fraction(double CacheConfig::*field) {
  KeyValue v;
  v.accepted = "0 (off) or a decimal fraction between 0 and 1, e.g. 0.8";
  v.default_text = parse::decimal_text(CacheConfig{}.*field);
  v.read = [=](CacheConfig& c, const std::string& text) {
    const auto f = parse::decimal(text);
    if (!f || *f >= 1.0) return false;
    c.*field = *f;
    return true;
  };
  v.invalid = [=](const CacheConfig& c) -> std::optional<std::string> {
    const double f = c.*field;
    if (f >= 0.0 && f < 1.0) return std::nullopt;
    return parse::decimal_text(f);
  };
  v.show = [=](const CacheConfig& c, const RedisOptions*) { return parse::decimal_text(c.*field); };
  return v;
}

constexpr bool kSecret = true;

// Limits are generous enough for any real deployment; beyond them a value is
// far more likely a unit mistake than an intent.
constexpr std::uint64_t kTiB = std::uint64_t{1} << 40;
constexpr milliseconds kTenYears = std::chrono::hours(24 * 365 * 10);

}  // namespace

namespace detail {

const std::vector<ConfigKey>& config_key_table() {
  using std::chrono::hours;
  static const std::vector<ConfigKey> table = {
      {"CACHE_TYPE", "the backend: in-memory SimpleCache, Redis, in-process L1 over Redis (hybrid), or no caching", cache_type()},
      {"REDIS_URL", "where Redis is and how to log in; read only when CACHE_TYPE=redis or hybrid", redis_url(),
       kSecret},
      {"CACHE_REDIS_CLUSTER", "Flask-Caching: cluster seed nodes for CACHE_TYPE=RedisClusterCache",
       redis_text(&CacheConfig::redis_cluster, "host1:port1,host2:port2,... (IPv6 in brackets)", false)},
      {"CACHE_REDIS_SENTINELS", "Flask-Caching: the sentinels for CACHE_TYPE=RedisSentinelCache",
       redis_text(&CacheConfig::redis_sentinels, "host1:port1,host2:port2,... (port 26379 when left out)", false)},
      {"CACHE_REDIS_SENTINEL_MASTER", "Flask-Caching: the master's name the sentinels know",
       redis_text(&CacheConfig::redis_sentinel_master, "a name without spaces, e.g. mymaster", false)},
      {"CACHE_REDIS_PASSWORD", "Flask-Caching: the Redis data nodes' password (when REDIS_URL has none)",
       redis_text(&CacheConfig::redis_password, "any text", true), kSecret},
      {"CACHE_KEY_PREFIX", "prepended to every Redis key; clear() removes only keys under it", key_prefix(256)},
      {"CACHE_DEFAULT_TIMEOUT", "expiry of entries stored without their own TTL",
       ttl(&CacheConfig::default_timeout, {std::chrono::seconds(1), milliseconds(0), kTenYears})},
      {"CACHE_THRESHOLD", "SimpleCache max_items: entries kept before eviction",
       whole(&CacheConfig::threshold, 1, 1'000'000'000)},
      {"CACHE_MAX_BYTES", "SimpleCache max_bytes: memory for keys and values",
       size(&CacheConfig::max_bytes, 1, kTiB)},
      {"CACHE_REDIS_CONNECT_TIMEOUT", "bound on connecting to Redis (TCP, AUTH, SELECT)",
       redis_timeout(&CacheConfig::redis_connect_timeout, &RedisOptions::connect_timeout, "connect_timeout")},
      {"CACHE_REDIS_SOCKET_TIMEOUT", "bound on each Redis command's round trip",
       redis_timeout(&CacheConfig::redis_socket_timeout, &RedisOptions::socket_timeout, "socket_timeout")},
      {"CACHE_REDIS_POOL_SIZE", "Redis connections per cache", redis_pool_size(1, 1024)},
      {"CACHE_REDIS_TLS_CA_CERTS", "rediss: PEM file of the CAs that sign the server's certificate",
       detail::tls_text(&CacheConfig::redis_tls_ca_certs, &TlsOptions::ca_certs, "ssl_ca_certs", "a readable PEM file")},
      {"CACHE_REDIS_TLS_CERTFILE", "rediss: client certificate (PEM) for mutual TLS",
       detail::tls_text(&CacheConfig::redis_tls_certfile, &TlsOptions::certfile, "ssl_certfile", "a readable PEM file")},
      {"CACHE_REDIS_TLS_KEYFILE", "rediss: the client certificate's private key (PEM), if not in the certfile",
       detail::tls_text(&CacheConfig::redis_tls_keyfile, &TlsOptions::keyfile, "ssl_keyfile", "a readable PEM file")},
      {"CACHE_REDIS_TLS_CERT_REQS", "rediss: how strictly the server's certificate is verified",
       detail::tls_cert_reqs()},
      {"CACHE_REDIS_TLS_CHECK_HOSTNAME", "rediss: check that the certificate names the host",
       detail::tls_check_hostname()},
      {"CACHE_REDIS_TLS_SERVER_NAME", "rediss: name sent as SNI and checked instead of the host",
       detail::tls_text(&CacheConfig::redis_tls_server_name, &TlsOptions::server_name, "ssl_server_name",
                        "a host name or IP address")},
      {"CACHE_FALLBACK", "what happens when Redis cannot be reached (docs/configuration.md)",
       choice(&CacheConfig::fallback,
              {{"runtime", FallbackMode::runtime}, {"startup", FallbackMode::startup}, {"none", FallbackMode::none}})},
      {"CACHE_BREAKER_THRESHOLD", "runtime fallback: consecutive failures that open the breaker",
       whole(&CacheConfig::breaker_threshold, 1, 1000)},
      {"CACHE_BREAKER_COOLDOWN", "runtime fallback: time the breaker stays open before probing Redis again",
       duration(&CacheConfig::breaker_cooldown, {milliseconds(1), milliseconds(1), hours(1)})},
      {"CACHE_JOURNAL_MAX", "runtime fallback: keys remembered for replay after an outage",
       whole(&CacheConfig::journal_max, 1, 10'000'000)},
      {"CACHE_FAIL_SAFE", "get_or_set serves the last good value when loading fails (docs/loading.md)",
       flag(&CacheConfig::fail_safe)},
      {"CACHE_FAIL_SAFE_MAX", "fail-safe: how long past its ttl a value may still be served",
       duration(&CacheConfig::fail_safe_max, {milliseconds(1), std::chrono::seconds(1), hours(24 * 30)})},
      {"CACHE_FAIL_SAFE_THROTTLE", "fail-safe: a stale value served after a failure counts as fresh this long",
       duration(&CacheConfig::fail_safe_throttle, {milliseconds(1), milliseconds(1), hours(1)})},
      {"CACHE_LOADER_SOFT_TIMEOUT", "get_or_set answers with the stale value after this long (0 = never)",
       duration(&CacheConfig::loader_soft_timeout, {milliseconds(1), milliseconds(0), std::chrono::minutes(10)})},
      {"CACHE_LOADER_HARD_TIMEOUT", "get_or_set answers stale or TimeoutError after this long (0 = never)",
       duration(&CacheConfig::loader_hard_timeout, {milliseconds(1), milliseconds(0), std::chrono::minutes(10)})},
      {"CACHE_EAGER_REFRESH", "fraction of the ttl after which a hit reloads in the background (0 = off)",
       fraction(&CacheConfig::eager_refresh)},
      {"CACHE_DISTRIBUTED_LOCK", "one get_or_set loader per key across all processes sharing the backend",
       flag(&CacheConfig::distributed_lock)},
      {"CACHE_LOADER_THREADS", "threads each cache runs background loads on",
       whole(&CacheConfig::loader_threads, 1, 64)},
      {"CACHE_L1_MAX_ITEMS", "hybrid: entries kept in the in-process L1",
       whole(&CacheConfig::l1_max_items, 1, 1'000'000'000)},
      {"CACHE_L1_MAX_BYTES", "hybrid: memory for the L1's keys and values", size(&CacheConfig::l1_max_bytes, 1, kTiB)},
      {"CACHE_L1_MAX_TTL", "hybrid: longest life of an L1 entry, whatever else fails",
       duration(&CacheConfig::l1_max_ttl, {milliseconds(1), milliseconds(1), hours(24)})},
      {"CACHE_L1_INVALIDATION", "hybrid: how the L1 is kept coherent (docs/hybrid.md)",
       choice(&CacheConfig::l1_invalidation, {{"bcast", InvalidationMode::bcast},
                                              {"tracking", InvalidationMode::tracking},
                                              {"pubsub", InvalidationMode::pubsub},
                                              {"none", InvalidationMode::none}})},
      {"CACHE_L1_HEARTBEAT", "hybrid: how often the invalidation channel is checked (the staleness bound)",
       duration(&CacheConfig::l1_heartbeat, {milliseconds(1), milliseconds(10), std::chrono::minutes(1)})},
      {"APP_ENV", "the deployment environment; production turns on the production rule", environment(true)},
      {"CACHE_ENV", "as APP_ENV, and wins over it when not empty", environment(false)},
  };
  return table;
}

const ConfigKey& config_key(std::string_view name) {
  for (const ConfigKey& key : config_key_table()) {
    if (name == key.name) return key;
  }
  throw std::logic_error("cachet: no configuration key " + std::string(name));
}

[[noreturn]] void reject_empty(const ConfigKey& key) {
  throw ConfigError(std::string(key.name) + " is set to an empty string; accepted: " + key.value.accepted +
                    ". Unset it to use the default (" + key.value.default_text + ")");
}

namespace {

// `value` is the offending value as the message shows it; a secret's is left out.
[[noreturn]] void reject(const ConfigKey& key, const std::string& value) {
  throw ConfigError(std::string(key.name) + (key.secret ? " (value not shown: it may hold a secret)" : "=" + value) +
                    " is not valid; accepted: " + key.value.accepted);
}

}  // namespace

void read_key(const ConfigKey& key, CacheConfig& config, const std::string& value) {
  if (key.value.applies && !key.value.applies(config)) return;
  if (value.empty() && !key.value.empty_ok) reject_empty(key);
  if (!key.value.read(config, value)) reject(key, parse::quote(value));
}

void check_key(const ConfigKey& key, const CacheConfig& config) {
  if (!key.value.invalid) return;
  if (const auto bad = key.value.invalid(config)) reject(key, *bad);
}

}  // namespace detail

std::vector<ConfigKeyInfo> config_keys() {
  std::vector<ConfigKeyInfo> out;
  for (const detail::ConfigKey& key : detail::config_key_table()) {
    out.push_back({key.name, key.value.default_text, key.value.accepted, key.help, key.secret});
  }
  return out;
}

}  // namespace cachet
