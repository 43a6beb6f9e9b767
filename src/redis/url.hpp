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

}  // namespace cachet::redis
