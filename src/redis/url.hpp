// Internal helpers shared by the options code and the backend.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "cachet/redis_cache.hpp"

namespace cachet::redis {

/// The pool size RedisOptions::pool_size stands for (0 = automatic:
/// 2 x hardware threads, at least 2, at most 16).
std::size_t effective_pool_size(const RedisOptions& options);

/// `url` as given by a user, with anything that may be a password replaced by
/// "***" (userinfo, password= query values). Safe on malformed input.
std::string redact_url(std::string_view url);

}  // namespace cachet::redis
