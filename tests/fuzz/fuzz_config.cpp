// libFuzzer target: CacheConfig::from_map with keys from the known key set and
// fuzzed values.
//
// Input: records separated by 0x1E. A record's first byte picks the key (one of
// the documented keys; REDIS_URL with a sentinel password in front of the
// fuzzed text; or a free-form "KEY=VALUE"), the rest is the value.
// Properties:
//   * from_map returns a config or throws ConfigError — nothing else;
//   * a returned config validates, and redis_options() / simple_options() /
//     to_string() throw nothing but ConfigError (redis_options() nothing at all
//     when CACHE_TYPE=redis);
//   * the sentinel password never appears in an exception message nor in
//     to_string() / RedisOptions::to_string() / redacted_url().
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "cachet/config.hpp"
#include "cachet/errors.hpp"

namespace {

constexpr std::string_view kSecret = "Zq9Sentinel";

// The keys CacheConfig reads, from its table (cachet::config_keys()), so a new
// key is fuzzed without an edit here. A record's first byte picks one of them,
// or one of the two choices after them.
const std::vector<std::string>& known_keys() {
  static const std::vector<std::string> keys = [] {
    std::vector<std::string> names;
    for (const auto& key : cachet::config_keys()) names.push_back(key.name);
    return names;
  }();
  return keys;
}

std::string dump(const std::map<std::string, std::string>& m) {
  std::string s;
  for (const auto& [k, v] : m) s += k + "=" + v + "\n";
  return s;
}

[[noreturn]] void fail(const char* what, const std::map<std::string, std::string>& m, const std::string& detail) {
  std::fprintf(stderr, "fuzz_config: %s\n  detail: %s\n  map:\n%s", what, detail.c_str(), dump(m).c_str());
  std::abort();
}

bool leaks(std::string_view text) { return text.find(kSecret) != std::string_view::npos; }

// Runs f; ConfigError is accepted (its message must not leak), anything else aborts.
template <class F>
bool only_config_error(const char* what, const std::map<std::string, std::string>& m, bool secret, F&& f) {
  try {
    f();
    return true;
  } catch (const cachet::ConfigError& e) {
    if (secret && leaks(e.what())) fail("password in a ConfigError message", m, std::string(what) + ": " + e.what());
    return false;
  } catch (const std::exception& e) {
    fail("threw something other than ConfigError", m, std::string(what) + ": " + e.what());
  } catch (...) {
    fail("threw a non-std exception", m, what);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  if (leaks(text)) return 0;  // the fuzzer wrote the sentinel itself
  std::map<std::string, std::string> values;
  bool secret = false;
  for (std::size_t pos = 0; pos < text.size();) {
    auto end = text.find('\x1e', pos);
    if (end == std::string_view::npos) end = text.size();
    const std::string_view record = text.substr(pos, end - pos);
    pos = end + 1;
    if (record.empty()) continue;
    const std::size_t known = known_keys().size();
    const std::size_t choice = static_cast<unsigned char>(record[0]) % (known + 2);
    const std::string value(record.substr(1));
    if (choice < known) {
      values[known_keys()[choice]] = value;
    } else if (choice == known) {  // REDIS_URL = "redis://:<secret>@" + value
      values["REDIS_URL"] = "redis://:" + std::string(kSecret) + "@" + value;
      secret = true;
    } else {
      const auto eq = value.find('=');
      values[value.substr(0, eq)] = eq == std::string::npos ? std::string() : value.substr(eq + 1);
    }
  }
  // A later REDIS_URL record may have replaced the one carrying the secret.
  if (secret) {
    const auto url = values.find("REDIS_URL");
    secret = url != values.end() && leaks(url->second);
  }

  cachet::CacheConfig config;
  if (!only_config_error("from_map", values, secret, [&] { config = cachet::CacheConfig::from_map(values); })) {
    return 0;
  }
  try {
    config.validate();
  } catch (const std::exception& e) {
    fail("from_map returned a config that does not validate", values, e.what());
  }
  const std::string printed = config.to_string();
  if (secret && leaks(printed)) fail("password in CacheConfig::to_string()", values, printed);
  only_config_error("simple_options", values, secret, [&] { (void)config.simple_options(); });
  cachet::RedisOptions ro;
  const bool got = only_config_error("redis_options", values, secret, [&] { ro = config.redis_options(); });
  if (!got && config.type == cachet::CacheType::redis) {
    fail("CACHE_TYPE=redis validated but redis_options() threw", values, "");
  }
  if (got && secret) {
    if (leaks(ro.to_string())) fail("password in RedisOptions::to_string()", values, ro.to_string());
    if (leaks(ro.redacted_url())) fail("password in RedisOptions::redacted_url()", values, ro.redacted_url());
  }
  return 0;
}
