// Internal helpers shared by the options code and the backend.
#pragma once

#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "cachet/redis_cache.hpp"

namespace cachet::redis {

/// The pool size RedisOptions::pool_size stands for (0 = automatic:
/// 2 x hardware threads, at least 2, at most 16).
std::size_t effective_pool_size(const RedisOptions& options);

/// RedisOptions::from_url(url); with !check_tls the TLS fields are parsed but
/// not validated (CacheConfig checks them after applying CACHE_REDIS_TLS_*).
RedisOptions parse_url(std::string_view url, bool check_tls);

/// Makes the ConfigError of a malformed URL from what is wrong with it.
using UrlFail = std::function<ConfigError(const std::string&)>;

/// The ssl_* query keys a rediss:// URL accepts.
inline constexpr std::string_view kTlsQueryKeys =
    "ssl_cert_reqs, ssl_ca_certs, ssl_ca_path, ssl_certfile, ssl_keyfile, ssl_password, ssl_check_hostname, "
    "ssl_server_name, ssl_min_version";

/// Applies one query key of a rediss:// URL to `tls`: false when `key` does
/// not start with "ssl_"; throws fail(...) for an unknown ssl_* key or a value
/// that is not accepted (never quoting ssl_password's value).
bool apply_tls_query(TlsOptions& tls, const std::string& key, const std::string& value, const UrlFail& fail);

/// The ssl_* keys whose values differ from the defaults, in URL order, for
/// redacted_url(); a secret's value (ssl_password) is nullopt.
std::vector<std::pair<std::string, std::optional<std::string>>> tls_query(const TlsOptions& tls);

/// required / optional / none (any letter case); nullopt otherwise.
std::optional<TlsOptions::CertReqs> parse_cert_reqs(std::string_view text);
/// "required, optional or none".
const char* describe_cert_reqs() noexcept;

}  // namespace cachet::redis
