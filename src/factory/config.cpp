// CacheConfig: reading CACHE_* keys from the environment or a map, validating
// them, and turning them into backend options. The accepted syntax of every key
// is documented in include/cachet/config.hpp and docs/configuration.md; the
// texts below ("accepted: ...") are what users see when a value is wrong.
#include "cachet/config.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdint>
#include <cstdlib>
#include <limits>
#include <string_view>
#include <system_error>
#include <utility>

#include "cachet/errors.hpp"
#include "core/redact.hpp"

namespace cachet {

const char* to_string(CacheType type) noexcept {
  switch (type) {
    case CacheType::simple: return "simple";
    case CacheType::redis: return "redis";
    case CacheType::null: return "null";
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

using std::chrono::milliseconds;

// Every key cachet reads, in the order to_string() prints them.
constexpr const char* kKeys[] = {
    "CACHE_TYPE",          "REDIS_URL",          "CACHE_KEY_PREFIX",           "CACHE_DEFAULT_TIMEOUT",
    "CACHE_THRESHOLD",     "CACHE_MAX_BYTES",    "CACHE_REDIS_CONNECT_TIMEOUT", "CACHE_REDIS_SOCKET_TIMEOUT",
    "CACHE_REDIS_POOL_SIZE", "CACHE_FALLBACK",   "CACHE_BREAKER_THRESHOLD",    "CACHE_BREAKER_COOLDOWN",
    "CACHE_JOURNAL_MAX",   "APP_ENV",            "CACHE_ENV",
};

// Limits. Generous enough for any real deployment; beyond them a value is far
// more likely a unit mistake than an intent.
constexpr std::int64_t kMaxDefaultTimeoutMs = std::int64_t{10} * 365 * 24 * 3600 * 1000;  // 10 years
constexpr std::int64_t kMaxRedisTimeoutMs = std::int64_t{10} * 60 * 1000;                  // 10 minutes
constexpr std::int64_t kMaxCooldownMs = std::int64_t{60} * 60 * 1000;                      // 1 hour
constexpr std::uint64_t kMaxThreshold = 1'000'000'000;
constexpr std::uint64_t kMaxBytes = std::uint64_t{1} << 40;  // 1 TiB
constexpr std::uint64_t kMaxPoolSize = 1024;
constexpr std::uint64_t kMaxBreakerThreshold = 1000;
constexpr std::uint64_t kMaxJournal = 10'000'000;

constexpr const char* kAcceptType =
    "simple, redis or null (also SimpleCache, RedisCache, NullCache), case-insensitive";
constexpr const char* kAcceptFallback = "runtime, startup or none, case-insensitive";
constexpr const char* kAcceptDefaultTimeout =
    "a whole number of seconds (e.g. 300) or a number with a unit ms, s, m or h (e.g. 500ms, 30s, 5m, 1h); "
    "0 = never expire; at most 10 years";
constexpr const char* kAcceptRedisTimeout =
    "a whole number of milliseconds (e.g. 250) or a number with a unit ms, s or m (e.g. 250ms, 2s); "
    "from 1 ms to 10 minutes";
constexpr const char* kAcceptCooldown =
    "a whole number of milliseconds (e.g. 5000) or a number with a unit ms, s or m (e.g. 5s, 1m); "
    "from 1 ms to 1 hour";
constexpr const char* kAcceptThreshold = "a whole number from 1 to 1000000000";
constexpr const char* kAcceptMaxBytes =
    "a whole number of bytes, optionally with a unit KiB, MiB or GiB (e.g. 67108864, 64MiB); from 1 byte to 1 TiB";
constexpr const char* kAcceptPoolSize = "a whole number from 1 to 1024";
constexpr const char* kAcceptBreakerThreshold = "a whole number from 1 to 1000";
constexpr const char* kAcceptJournal = "a whole number from 1 to 10000000";
constexpr const char* kAcceptKeyPrefix = "any text up to 256 bytes (the empty string = no prefix)";
constexpr const char* kAcceptUrl =
    "redis://[[username]:password@]host[:port][/db][?query] or unix:///path/to/redis.sock[?db=N] "
    "(see docs/redis.md)";

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

// The value as it appears in a message: quoted, control bytes escaped, long
// values cut (the message must stay readable in a log line).
std::string quote(std::string_view v) {
  constexpr std::size_t kMax = 80;
  std::string out = "\"";
  for (std::size_t i = 0; i < v.size() && i < kMax; ++i) {
    const auto c = static_cast<unsigned char>(v[i]);
    if (c < 0x20 || c == 0x7f || c == '"' || c == '\\') {
      static constexpr char kHex[] = "0123456789abcdef";
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 0xf];
    } else {
      out += static_cast<char>(c);
    }
  }
  if (v.size() > kMax) out += "...";
  out += '"';
  return out;
}

[[noreturn]] void malformed(const char* key, std::string_view value, const char* accepted) {
  throw ConfigError(std::string(key) + "=" + quote(value) + " is not valid; accepted: " + accepted);
}

[[noreturn]] void empty_value(const char* key, const char* accepted, const std::string& default_text) {
  throw ConfigError(std::string(key) + " is set to an empty string; accepted: " + accepted +
                    ". Unset it to use the default (" + default_text + ")");
}

// Strict unsigned decimal: digits only, no sign, no spaces, no overflow.
std::optional<std::uint64_t> parse_digits(std::string_view s) {
  if (s.empty()) return std::nullopt;
  std::uint64_t v = 0;
  const auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || ptr != s.data() + s.size()) return std::nullopt;
  return v;
}

// Splits "250ms" into "250" and "ms" (the unit is the trailing run of letters).
std::pair<std::string_view, std::string_view> split_unit(std::string_view s) {
  std::size_t i = s.size();
  while (i > 0 && std::isalpha(static_cast<unsigned char>(s[i - 1]))) --i;
  return {s.substr(0, i), s.substr(i)};
}

std::uint64_t parse_count(const char* key, std::string_view value, std::uint64_t min, std::uint64_t max,
                          const char* accepted) {
  const auto v = parse_digits(value);
  if (!v || *v < min || *v > max) malformed(key, value, accepted);
  return *v;
}

// A duration in milliseconds. `bare_ms` is the unit of a number without one
// (1000 for seconds, 1 for milliseconds); `with_hours` admits the "h" unit.
std::int64_t parse_duration_ms(const char* key, std::string_view value, std::int64_t bare_ms, bool with_hours,
                               std::int64_t min_ms, std::int64_t max_ms, const char* accepted) {
  const auto [number, unit] = split_unit(value);
  std::int64_t factor = 0;
  if (unit.empty()) factor = bare_ms;
  else if (unit == "ms") factor = 1;
  else if (unit == "s") factor = 1000;
  else if (unit == "m") factor = std::int64_t{60} * 1000;
  else if (unit == "h" && with_hours) factor = std::int64_t{3600} * 1000;
  else malformed(key, value, accepted);
  const auto n = parse_digits(number);
  if (!n || *n > static_cast<std::uint64_t>(max_ms / factor)) malformed(key, value, accepted);
  const std::int64_t ms = static_cast<std::int64_t>(*n) * factor;
  if (ms < min_ms || ms > max_ms) malformed(key, value, accepted);
  return ms;
}

std::uint64_t parse_bytes(const char* key, std::string_view value) {
  const auto [number, unit] = split_unit(value);
  std::uint64_t factor = 0;
  if (unit.empty()) factor = 1;
  else if (unit == "KiB") factor = std::uint64_t{1} << 10;
  else if (unit == "MiB") factor = std::uint64_t{1} << 20;
  else if (unit == "GiB") factor = std::uint64_t{1} << 30;
  else malformed(key, value, kAcceptMaxBytes);
  const auto n = parse_digits(number);
  if (!n || *n == 0 || *n > kMaxBytes / factor) malformed(key, value, kAcceptMaxBytes);
  return *n * factor;
}

CacheType parse_type(std::string_view value) {
  const std::string v = lower(value);
  if (v == "simple" || v == "simplecache") return CacheType::simple;
  if (v == "redis" || v == "rediscache") return CacheType::redis;
  if (v == "null" || v == "nullcache") return CacheType::null;
  malformed("CACHE_TYPE", value, kAcceptType);
}

FallbackMode parse_fallback(std::string_view value) {
  const std::string v = lower(value);
  if (v == "startup") return FallbackMode::startup;
  if (v == "none") return FallbackMode::none;
  if (v == "runtime") return FallbackMode::runtime;
  malformed("CACHE_FALLBACK", value, kAcceptFallback);
}

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

std::string duration_text(milliseconds d) {
  const auto ms = d.count();
  if (ms != 0 && ms % 1000 == 0) return std::to_string(ms / 1000) + "s";
  return std::to_string(ms) + "ms";
}

void check_range(const char* key, std::int64_t v, std::int64_t min, std::int64_t max, const char* accepted,
                 const char* unit) {
  if (v < min || v > max) {
    throw ConfigError(std::string(key) + "=" + std::to_string(v) + unit + " is not valid; accepted: " + accepted);
  }
}

}  // namespace

CacheConfig CacheConfig::from_env() {
  std::map<std::string, std::string> values;
  for (const char* key : kKeys) {
    if (const char* v = std::getenv(key)) values.emplace(key, v);
  }
  return from_map(values);
}

CacheConfig CacheConfig::from_map(const std::map<std::string, std::string>& values) {
  CacheConfig c;
  auto find = [&values](const char* key) -> const std::string* {
    auto it = values.find(key);
    return it == values.end() ? nullptr : &it->second;
  };
  // Reads one key: absent -> nothing; empty -> ConfigError; else `parse`.
  auto read = [&find](const char* key, const char* accepted, const std::string& default_text, auto&& parse) {
    const std::string* v = find(key);
    if (v == nullptr) return;
    if (v->empty()) empty_value(key, accepted, default_text);
    parse(*v);
  };

  read("CACHE_TYPE", kAcceptType, "simple", [&](const std::string& v) { c.type = parse_type(v); });

  // REDIS_URL is commonly shared with other components (and may be a
  // rediss:// URL this build cannot use), so it is only looked at when the
  // cache is Redis.
  if (const std::string* url = find("REDIS_URL"); url != nullptr && c.type == CacheType::redis) {
    if (url->empty()) empty_value("REDIS_URL", kAcceptUrl, c.redis_url);
    c.redis_url = *url;
    c.redis_url_set = true;
  }

  if (const std::string* prefix = find("CACHE_KEY_PREFIX")) {
    if (prefix->size() > 256) malformed("CACHE_KEY_PREFIX", *prefix, kAcceptKeyPrefix);
    c.key_prefix = *prefix;
    c.key_prefix_set = true;
  }

  read("CACHE_DEFAULT_TIMEOUT", kAcceptDefaultTimeout, "300", [&](const std::string& v) {
    const auto ms = parse_duration_ms("CACHE_DEFAULT_TIMEOUT", v, 1000, true, 0, kMaxDefaultTimeoutMs,
                                      kAcceptDefaultTimeout);
    c.default_timeout = ms == 0 ? Ttl::never() : Ttl(milliseconds(ms));
  });
  read("CACHE_THRESHOLD", kAcceptThreshold, "10000", [&](const std::string& v) {
    c.threshold = static_cast<std::size_t>(parse_count("CACHE_THRESHOLD", v, 1, kMaxThreshold, kAcceptThreshold));
  });
  read("CACHE_MAX_BYTES", kAcceptMaxBytes, "67108864", [&](const std::string& v) {
    c.max_bytes = static_cast<std::size_t>(parse_bytes("CACHE_MAX_BYTES", v));
  });
  read("CACHE_REDIS_CONNECT_TIMEOUT", kAcceptRedisTimeout, "the URL's connect_timeout, else 250ms",
       [&](const std::string& v) {
         c.redis_connect_timeout = milliseconds(
             parse_duration_ms("CACHE_REDIS_CONNECT_TIMEOUT", v, 1, false, 1, kMaxRedisTimeoutMs, kAcceptRedisTimeout));
       });
  read("CACHE_REDIS_SOCKET_TIMEOUT", kAcceptRedisTimeout, "the URL's socket_timeout, else 500ms",
       [&](const std::string& v) {
         c.redis_socket_timeout = milliseconds(
             parse_duration_ms("CACHE_REDIS_SOCKET_TIMEOUT", v, 1, false, 1, kMaxRedisTimeoutMs, kAcceptRedisTimeout));
       });
  read("CACHE_REDIS_POOL_SIZE", kAcceptPoolSize, "the URL's pool_size, else automatic", [&](const std::string& v) {
    c.redis_pool_size = static_cast<int>(parse_count("CACHE_REDIS_POOL_SIZE", v, 1, kMaxPoolSize, kAcceptPoolSize));
  });
  read("CACHE_FALLBACK", kAcceptFallback, "runtime", [&](const std::string& v) { c.fallback = parse_fallback(v); });
  read("CACHE_BREAKER_THRESHOLD", kAcceptBreakerThreshold, "3", [&](const std::string& v) {
    c.breaker_threshold =
        static_cast<int>(parse_count("CACHE_BREAKER_THRESHOLD", v, 1, kMaxBreakerThreshold, kAcceptBreakerThreshold));
  });
  read("CACHE_BREAKER_COOLDOWN", kAcceptCooldown, "5000", [&](const std::string& v) {
    c.breaker_cooldown =
        milliseconds(parse_duration_ms("CACHE_BREAKER_COOLDOWN", v, 1, false, 1, kMaxCooldownMs, kAcceptCooldown));
  });
  read("CACHE_JOURNAL_MAX", kAcceptJournal, "10000", [&](const std::string& v) {
    c.journal_max = static_cast<std::size_t>(parse_count("CACHE_JOURNAL_MAX", v, 1, kMaxJournal, kAcceptJournal));
  });

  // Any name is accepted; only "production" changes behaviour. CACHE_ENV is the
  // more specific of the two and wins.
  const std::string* cache_env = find("CACHE_ENV");
  const std::string* app_env = find("APP_ENV");
  if (cache_env != nullptr && !cache_env->empty()) {
    c.environment = lower(*cache_env);
  } else if (app_env != nullptr) {
    c.environment = lower(*app_env);
  }

  c.validate();
  return c;
}

void CacheConfig::validate() const {
  if (default_timeout.is_default()) {
    throw ConfigError("CACHE_DEFAULT_TIMEOUT=default is not valid; accepted: " + std::string(kAcceptDefaultTimeout) +
                      " (in code: a duration or Ttl::never())");
  }
  check_range("CACHE_DEFAULT_TIMEOUT", default_timeout.duration().count(), 0, kMaxDefaultTimeoutMs,
              kAcceptDefaultTimeout, "ms");
  check_range("CACHE_THRESHOLD", static_cast<std::int64_t>(std::min<std::uint64_t>(threshold, INT64_MAX)), 1,
              static_cast<std::int64_t>(kMaxThreshold), kAcceptThreshold, "");
  check_range("CACHE_MAX_BYTES", static_cast<std::int64_t>(std::min<std::uint64_t>(max_bytes, INT64_MAX)), 1,
              static_cast<std::int64_t>(kMaxBytes), kAcceptMaxBytes, "");
  if (redis_connect_timeout) {
    check_range("CACHE_REDIS_CONNECT_TIMEOUT", redis_connect_timeout->count(), 1, kMaxRedisTimeoutMs,
                kAcceptRedisTimeout, "ms");
  }
  if (redis_socket_timeout) {
    check_range("CACHE_REDIS_SOCKET_TIMEOUT", redis_socket_timeout->count(), 1, kMaxRedisTimeoutMs,
                kAcceptRedisTimeout, "ms");
  }
  if (redis_pool_size) {
    check_range("CACHE_REDIS_POOL_SIZE", *redis_pool_size, 1, static_cast<std::int64_t>(kMaxPoolSize),
                kAcceptPoolSize, "");
  }
  check_range("CACHE_BREAKER_THRESHOLD", breaker_threshold, 1, static_cast<std::int64_t>(kMaxBreakerThreshold),
              kAcceptBreakerThreshold, "");
  check_range("CACHE_BREAKER_COOLDOWN", breaker_cooldown.count(), 1, kMaxCooldownMs, kAcceptCooldown, "ms");
  check_range("CACHE_JOURNAL_MAX", static_cast<std::int64_t>(std::min<std::uint64_t>(journal_max, INT64_MAX)), 1,
              static_cast<std::int64_t>(kMaxJournal), kAcceptJournal, "");
  if (key_prefix.size() > 256) malformed("CACHE_KEY_PREFIX", key_prefix, kAcceptKeyPrefix);

  if (type == CacheType::redis) {
    if (production() && !redis_url_set) {
      throw ConfigError("REDIS_URL must be set when CACHE_TYPE=redis in production");
    }
    (void)redis_options();  // parses and validates the URL and the overrides
  }
}

RedisOptions CacheConfig::redis_options() const {
  if (redis_url.empty()) empty_value("REDIS_URL", kAcceptUrl, "redis://localhost:6379/0");
  RedisOptions o;
  try {
    o = RedisOptions::from_url(redis_url);
  } catch (const ConfigError& e) {
    // from_url's message already quotes the URL (password redacted); scrub()
    // is the belt to its braces.
    std::string msg = std::string("REDIS_URL is not valid: ") + e.what();
    if (msg.find(redis_url) == std::string::npos && msg.find(detail::redact_url(redis_url)) == std::string::npos) {
      msg += " (REDIS_URL=" + quote(detail::redact_url(redis_url)) + ")";
    }
    if (msg.find("accepted") == std::string::npos) msg += std::string("; accepted: ") + kAcceptUrl;
    throw ConfigError(detail::scrub(std::move(msg), redis_url));
  }

  const bool url_has_prefix = url_query_has(redis_url, "key_prefix");
  if (key_prefix_set && url_has_prefix && o.key_prefix != key_prefix) {
    throw ConfigError(detail::scrub("CACHE_KEY_PREFIX=" + quote(key_prefix) + " and the key_prefix of REDIS_URL (" +
                                        quote(o.key_prefix) +
                                        ") disagree; accepted: the prefix set in one place, or the same value in both",
                                    redis_url));
  }
  if (key_prefix_set || !url_has_prefix) o.key_prefix = key_prefix;
  o.default_timeout = default_timeout;
  if (redis_connect_timeout) o.connect_timeout = *redis_connect_timeout;
  if (redis_socket_timeout) o.socket_timeout = *redis_socket_timeout;
  if (redis_pool_size) o.pool_size = *redis_pool_size;
  try {
    o.validate();
  } catch (const ConfigError& e) {
    throw ConfigError(detail::scrub(std::string("Redis options from REDIS_URL and CACHE_REDIS_*: ") + e.what(),
                                    redis_url));
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

std::string CacheConfig::to_string() const {
  // For Redis, show what will actually be used where the URL decides.
  std::optional<RedisOptions> effective;
  if (type == CacheType::redis) {
    try {
      effective = redis_options();
    } catch (const ConfigError&) {
      effective.reset();
    }
  }
  auto origin = [](bool set) { return set ? "" : " (default)"; };
  std::string s;
  auto line = [&s](const std::string& key, const std::string& value, const char* note = "") {
    s += key;
    s += '=';
    s += value;
    s += note;
    s += '\n';
  };
  line("CACHE_TYPE", cachet::to_string(type));
  if (type == CacheType::redis) {
    line("REDIS_URL", detail::redact_url(redis_url), origin(redis_url_set));
  } else {
    line("REDIS_URL", "(not used)");
  }
  line("CACHE_KEY_PREFIX", quote(effective ? effective->key_prefix : key_prefix),
       key_prefix_set || (effective && effective->key_prefix != key_prefix) ? "" : " (default)");
  line("CACHE_DEFAULT_TIMEOUT",
       default_timeout.is_never() ? std::string("0 (never expire)") : duration_text(default_timeout.duration()));
  line("CACHE_THRESHOLD", std::to_string(threshold));
  line("CACHE_MAX_BYTES", std::to_string(max_bytes));
  auto redis_timeout = [&](const std::optional<milliseconds>& v, milliseconds RedisOptions::*field) -> std::string {
    if (v) return duration_text(*v);
    if (effective) return duration_text((*effective).*field) + " (from REDIS_URL or default)";
    return "(from REDIS_URL or default)";
  };
  line("CACHE_REDIS_CONNECT_TIMEOUT", redis_timeout(redis_connect_timeout, &RedisOptions::connect_timeout));
  line("CACHE_REDIS_SOCKET_TIMEOUT", redis_timeout(redis_socket_timeout, &RedisOptions::socket_timeout));
  if (redis_pool_size) {
    line("CACHE_REDIS_POOL_SIZE", std::to_string(*redis_pool_size));
  } else if (effective && effective->pool_size != 0) {
    line("CACHE_REDIS_POOL_SIZE", std::to_string(effective->pool_size), " (from REDIS_URL)");
  } else {
    line("CACHE_REDIS_POOL_SIZE", "auto");
  }
  line("CACHE_FALLBACK", cachet::to_string(fallback));
  line("CACHE_BREAKER_THRESHOLD", std::to_string(breaker_threshold));
  line("CACHE_BREAKER_COOLDOWN", duration_text(breaker_cooldown));
  line("CACHE_JOURNAL_MAX", std::to_string(journal_max));
  line("APP_ENV/CACHE_ENV", environment.empty() ? std::string("(unset)") : quote(environment),
       production() ? " (production rules on)" : "");
  return s;
}

}  // namespace cachet
