// Internal: hiding REDIS_URL secrets in anything cachet prints.
//
// These work on the raw string, so they also cover URLs that do not parse
// (RedisOptions::redacted_url() needs a parsed URL).
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace cachet::detail {

/// `url` with the password of the userinfo part and any `password=`,
/// `sentinel_password=` or `ssl_password=` query value replaced by "***".
/// Leaves everything else as given.
std::string redact_url(std::string_view url);

/// The secrets `url` carries (the userinfo password, `password=`,
/// `sentinel_password=` and `ssl_password=` query values), raw and
/// percent-decoded; empty strings are left out.
std::vector<std::string> url_secrets(std::string_view url);

/// The value of a hexadecimal digit (0-15), -1 for any other character.
int hex_value(char c) noexcept;

/// `message` with every occurrence of each secret of `url` replaced by "***".
std::string scrub(std::string message, std::string_view url);

}  // namespace cachet::detail
