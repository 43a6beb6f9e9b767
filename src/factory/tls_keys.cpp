// The CACHE_REDIS_TLS_* keys: builders for their rows and the override rule
// (tls_keys.hpp).
#include "factory/tls_keys.hpp"

#include <functional>
#include <vector>

#include "cachet/errors.hpp"
#include "core/parse.hpp"
#include "redis/url.hpp"

namespace cachet::detail {

namespace {

bool for_redis(const CacheConfig& c) { return c.uses_redis(); }

std::string text_value(const std::string& v) { return v.empty() ? std::string("(unset)") : parse::quote(v); }
std::string reqs_value(TlsOptions::CertReqs r) { return cachet::to_string(r); }
std::string bool_value(bool b) { return b ? "true" : "false"; }

// How to_string() shows a key: its own value when set, else the effective TLS
// setting (from the URL or the default), or that TLS is off.
template <class T, class Text>
std::function<std::string(const CacheConfig&, const RedisOptions*)> shown(std::optional<T> CacheConfig::*field,
                                                                           T TlsOptions::*tls_field, Text text) {
  return [=](const CacheConfig& c, const RedisOptions* redis) {
    if (c.*field) return text(*(c.*field));
    if (redis == nullptr) return std::string("(from REDIS_URL or default)");
    if (!redis->tls.enabled) return std::string("(TLS off)");
    return text(redis->tls.*tls_field) + " (from REDIS_URL or default)";
  };
}

}  // namespace

KeyValue tls_text(std::optional<std::string> CacheConfig::*field, std::string TlsOptions::*tls_field,
                  const char* query, const char* accepted) {
  KeyValue v;
  v.accepted = accepted;
  v.default_text = std::string("REDIS_URL's ") + query + ", else unset";
  v.applies = for_redis;
  v.read = [=](CacheConfig& c, const std::string& text) {
    c.*field = text;
    return true;
  };
  v.show = shown(field, tls_field, text_value);
  return v;
}

KeyValue tls_cert_reqs() {
  KeyValue v;
  v.accepted = redis::describe_cert_reqs();
  v.default_text = "REDIS_URL's ssl_cert_reqs, else required";
  v.applies = for_redis;
  v.read = [](CacheConfig& c, const std::string& text) {
    c.redis_tls_cert_reqs = redis::parse_cert_reqs(text);
    return c.redis_tls_cert_reqs.has_value();
  };
  v.show = shown(&CacheConfig::redis_tls_cert_reqs, &TlsOptions::cert_reqs, reqs_value);
  return v;
}

KeyValue tls_check_hostname() {
  KeyValue v;
  v.accepted = parse::describe_boolean();
  v.default_text = "REDIS_URL's ssl_check_hostname, else true";
  v.applies = for_redis;
  v.read = [](CacheConfig& c, const std::string& text) {
    c.redis_tls_check_hostname = parse::boolean(text);
    return c.redis_tls_check_hostname.has_value();
  };
  v.show = shown(&CacheConfig::redis_tls_check_hostname, &TlsOptions::check_hostname, bool_value);
  return v;
}

void apply_tls_keys(const CacheConfig& c, RedisOptions& o, const char* source) {
  std::vector<const char*> set;
  auto text = [&](const std::optional<std::string>& value, std::string TlsOptions::*field, const char* key) {
    if (!value) return;
    set.push_back(key);
    o.tls.*field = *value;
  };
  text(c.redis_tls_ca_certs, &TlsOptions::ca_certs, "CACHE_REDIS_TLS_CA_CERTS");
  text(c.redis_tls_certfile, &TlsOptions::certfile, "CACHE_REDIS_TLS_CERTFILE");
  text(c.redis_tls_keyfile, &TlsOptions::keyfile, "CACHE_REDIS_TLS_KEYFILE");
  text(c.redis_tls_server_name, &TlsOptions::server_name, "CACHE_REDIS_TLS_SERVER_NAME");
  if (c.redis_tls_cert_reqs) {
    set.push_back("CACHE_REDIS_TLS_CERT_REQS");
    o.tls.cert_reqs = *c.redis_tls_cert_reqs;
  }
  if (c.redis_tls_check_hostname) {
    set.push_back("CACHE_REDIS_TLS_CHECK_HOSTNAME");
    o.tls.check_hostname = *c.redis_tls_check_hostname;
  }
  if (set.empty()) return;
  std::string keys;
  for (const char* key : set) keys += (keys.empty() ? "" : ", ") + std::string(key);
  if (o.tls.enabled) {
    // Name the keys that took part when the result is refused (an unreadable file).
    try {
      o.tls.validate();
    } catch (const ConfigError& e) {
      throw ConfigError(keys + " with " + source + ": " + e.what());
    }
    return;
  }
  throw ConfigError(keys + (set.size() == 1 ? " is" : " are") + " set but " + source +
                    " does not use TLS; accepted: a rediss:// (rediss+cluster://, rediss+sentinel://) " + source +
                    ", or unset " + (set.size() == 1 ? "it" : "them"));
}

}  // namespace cachet::detail
