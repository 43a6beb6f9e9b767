// The table of configuration keys as users see it: config_keys() lists every
// key CacheConfig reads, each with a default, what it accepts and a help line;
// docs/configuration.md names exactly these keys in its table.
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>

#include "cachet/cachet.hpp"

#ifndef CACHET_DOCS_DIR
#error "CACHET_DOCS_DIR must name the docs/ directory (tests/CMakeLists.txt)"
#endif

using cachet::CacheConfig;
using cachet::ConfigError;

namespace {

std::set<std::string> table_names() {
  std::set<std::string> names;
  for (const auto& key : cachet::config_keys()) names.insert(key.name);
  return names;
}

// The keys named in the first column of the table under "## Keys" in
// docs/configuration.md (a cell may name several: "`APP_ENV`, `CACHE_ENV`").
std::set<std::string> documented_names() {
  std::ifstream in(CACHET_DOCS_DIR "/configuration.md");
  EXPECT_TRUE(in.good()) << "cannot read " CACHET_DOCS_DIR "/configuration.md";
  std::set<std::string> names;
  bool in_keys = false;
  // A name: `[A-Z][A-Z0-9_]*` between backquotes. (No std::regex: g++ 12
  // warns inside <regex> under -fsanitize, and the warnings are errors.)
  auto is_name = [](const std::string& s) {
    if (s.empty() || s[0] < 'A' || s[0] > 'Z') return false;
    for (char c : s) {
      if (!((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_')) return false;
    }
    return true;
  };
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("## ", 0) == 0) in_keys = line == "## Keys";
    if (!in_keys || line.rfind("| `", 0) != 0) continue;
    const std::string first_cell = line.substr(1, line.find('|', 1) - 1);
    for (std::size_t open = first_cell.find('`'); open != std::string::npos;) {
      const std::size_t close = first_cell.find('`', open + 1);
      if (close == std::string::npos) break;
      const std::string quoted = first_cell.substr(open + 1, close - open - 1);
      if (is_name(quoted)) names.insert(quoted);
      open = first_cell.find('`', close + 1);
    }
  }
  return names;
}

}  // namespace

TEST(ConfigKeys, EveryKeyIsDescribed) {
  const auto keys = cachet::config_keys();
  ASSERT_FALSE(keys.empty());
  EXPECT_EQ(keys.front().name, "CACHE_TYPE");  // read first: REDIS_URL depends on it
  std::set<std::string> seen;
  for (const auto& key : keys) {
    SCOPED_TRACE(key.name);
    EXPECT_TRUE(seen.insert(key.name).second) << "listed twice";
    EXPECT_FALSE(key.help.empty());
    EXPECT_FALSE(key.accepted.empty());
    EXPECT_FALSE(key.default_value.empty());
  }
  for (const auto& key : keys) {
    EXPECT_EQ(key.secret, key.name == "REDIS_URL" || key.name == "CACHE_REDIS_PASSWORD") << key.name;
  }
}

TEST(ConfigKeys, DefaultsAndAcceptedTextsMatchWhatTheParserDoes) {
  std::map<std::string, cachet::ConfigKeyInfo> by_name;
  for (const auto& key : cachet::config_keys()) by_name[key.name] = key;
  EXPECT_EQ(by_name["CACHE_TYPE"].default_value, "simple");
  EXPECT_EQ(by_name["CACHE_DEFAULT_TIMEOUT"].default_value, "300s");
  EXPECT_EQ(by_name["CACHE_THRESHOLD"].default_value, "10000");
  EXPECT_EQ(by_name["CACHE_MAX_BYTES"].default_value, "67108864");
  EXPECT_EQ(by_name["CACHE_BREAKER_COOLDOWN"].default_value, "5s");
  EXPECT_EQ(by_name["CACHE_FALLBACK"].default_value, "runtime");
  // The default of every key with a plain one reads back as that default.
  for (const char* name : {"CACHE_TYPE", "CACHE_DEFAULT_TIMEOUT", "CACHE_THRESHOLD", "CACHE_MAX_BYTES", "CACHE_FALLBACK",
                           "CACHE_BREAKER_THRESHOLD", "CACHE_BREAKER_COOLDOWN", "CACHE_JOURNAL_MAX"}) {
    SCOPED_TRACE(name);
    EXPECT_EQ(CacheConfig::from_map({{name, by_name[name].default_value}}).to_string(), CacheConfig{}.to_string());
  }
  // A rejected value's message quotes the key's accepted text. (REDIS_URL's
  // messages come from RedisOptions::from_url, and so do those of the
  // Flask-Caching topology keys, which are checked together with CACHE_TYPE
  // and REDIS_URL (test_config); the prefix and the environment names take
  // any text; the TLS files and server name are checked with the rediss://
  // URL they override, in test_config.)
  const std::set<std::string> checked_elsewhere = {
      "REDIS_URL",           "CACHE_KEY_PREFIX",         "APP_ENV",                  "CACHE_ENV",
      "CACHE_REDIS_CLUSTER", "CACHE_REDIS_SENTINELS",    "CACHE_REDIS_PASSWORD",     "CACHE_REDIS_SENTINEL_MASTER",
      "CACHE_REDIS_TLS_CA_CERTS", "CACHE_REDIS_TLS_CERTFILE", "CACHE_REDIS_TLS_KEYFILE", "CACHE_REDIS_TLS_SERVER_NAME"};
  for (const auto& [name, key] : by_name) {
    if (checked_elsewhere.count(name) != 0) continue;
    SCOPED_TRACE(name);
    std::map<std::string, std::string> values = {{"CACHE_TYPE", "redis"}};
    values[name] = "x";
    try {
      CacheConfig::from_map(values);
      ADD_FAILURE() << "no ConfigError";
    } catch (const ConfigError& e) {
      EXPECT_EQ(std::string(e.what()), name + "=\"x\" is not valid; accepted: " + key.accepted);
    }
  }
}

TEST(ConfigKeys, EveryListedKeyIsRead) {
  // A key set to "" is an error naming it, except where "" is a value; those
  // and CACHE_TYPE are read with a value whose effect shows.
  for (const auto& key : cachet::config_keys()) {
    SCOPED_TRACE(key.name);
    std::map<std::string, std::string> values = {{"CACHE_TYPE", "redis"}, {"REDIS_URL", "redis://127.0.0.1:6379/0"}};
    if (key.name == "CACHE_TYPE") {
      values[key.name] = "null";
      EXPECT_EQ(CacheConfig::from_map(values).type, cachet::CacheType::null);
    } else if (key.name == "CACHE_KEY_PREFIX") {
      values[key.name] = "";
      EXPECT_TRUE(CacheConfig::from_map(values).key_prefix_set);
    } else if (key.name == "APP_ENV" || key.name == "CACHE_ENV") {
      values[key.name] = "Production";
      EXPECT_TRUE(CacheConfig::from_map(values).production());
    } else {
      values[key.name] = "";
      try {
        CacheConfig::from_map(values);
        ADD_FAILURE() << "no ConfigError for an empty " << key.name;
      } catch (const ConfigError& e) {
        EXPECT_EQ(std::string(e.what()).rfind(key.name + " is set to an empty string", 0), 0u) << e.what();
      }
    }
  }
}

TEST(ConfigKeys, DocsNameEveryKeyAndNoOther) {
  const auto in_table = table_names();
  const auto in_docs = documented_names();
  for (const auto& name : in_table) {
    EXPECT_EQ(in_docs.count(name), 1u) << name << " is missing from the key table of docs/configuration.md";
  }
  for (const auto& name : in_docs) {
    EXPECT_EQ(in_table.count(name), 1u) << "docs/configuration.md lists " << name << ", which cachet does not read";
  }
}
