// Internal: the table of configuration keys. One row per key drives reading
// (CacheConfig::from_env / from_map), the range checks of validate(), the
// redacted to_string(), and config_keys() (what `cachet --help` lists and the
// docs test checks against docs/configuration.md). Adding a key is a field in
// CacheConfig and one row in config_keys.cpp (docs/development.md, "Adding a
// configuration key").
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cachet/config.hpp"

namespace cachet::detail {

/// How a key's value is parsed, range-checked and shown. Made by the builders
/// in config_keys.cpp (one per kind of value), never by hand in a row.
struct KeyValue {
  /// What a value may be: the "accepted: ..." of every ConfigError for the key.
  std::string accepted;
  /// The default as a user reads it ("300s", "the URL's pool_size, else automatic").
  std::string default_text;
  /// True when "" is a value; otherwise a key set to "" is a ConfigError.
  bool empty_ok = false;
  /// Whether the key is read at all, given the rows read before it. Null: always.
  std::function<bool(const CacheConfig&)> applies;
  /// Parses `value` into the config; false when malformed or out of range.
  std::function<bool(CacheConfig&, const std::string& value)> read;
  /// For a config built in code: the field's value as text when it is out of
  /// range, nullopt when fine. Null: nothing to check.
  std::function<std::optional<std::string>(const CacheConfig&)> invalid;
  /// The effective value in to_string(). `redis` is what the config resolves to
  /// for CACHE_TYPE=redis, null otherwise or when it does not resolve. Null:
  /// another row shows this key.
  std::function<std::string(const CacheConfig&, const RedisOptions* redis)> show;
  /// The name to_string() prints when it is not the key's (a shared line).
  const char* label = nullptr;
};

/// One configuration key.
struct ConfigKey {
  const char* name;  ///< the environment / map key
  const char* help;  ///< one line: what the key is for
  KeyValue value;
  bool secret = false;  ///< the value may hold a credential: never shown verbatim
};

/// Every key, in the order they are read and printed. Order matters where a
/// row's `applies` or `read` looks at what an earlier row set.
const std::vector<ConfigKey>& config_key_table();

/// The row of `name`; std::logic_error when there is none (a programming error).
const ConfigKey& config_key(std::string_view name);

/// ConfigError: `key` is set to "" but takes no empty value (names the default).
[[noreturn]] void reject_empty(const ConfigKey& key);

/// Reads `value` of `key` into `config`: ConfigError when it is "" and the key
/// takes no empty value, or when it is not accepted. Does nothing when the key
/// does not apply.
void read_key(const ConfigKey& key, CacheConfig& config, const std::string& value);

/// ConfigError when `config`, built in code, holds an out-of-range value for `key`.
void check_key(const ConfigKey& key, const CacheConfig& config);

}  // namespace cachet::detail
