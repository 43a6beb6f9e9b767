// cachet/cachet.hpp — the umbrella header: everything a user needs.
//
//   #include <cachet/cachet.hpp>
//   auto cache = cachet::create_cache();          // from CACHE_TYPE, REDIS_URL, ...
//   cache->set("greeting", "hello", std::chrono::seconds(30));
//
// See each header for its abstraction and thread-safety contract.
#pragma once

#include "cachet/cache.hpp"
#include "cachet/codec.hpp"
#include "cachet/config.hpp"
#include "cachet/errors.hpp"
#include "cachet/factory.hpp"
#include "cachet/fallback_cache.hpp"
#include "cachet/hybrid_cache.hpp"
#include "cachet/invalidation.hpp"
#include "cachet/logging.hpp"
#include "cachet/metrics.hpp"
#include "cachet/null_cache.hpp"
#include "cachet/observer.hpp"
#include "cachet/redis_cache.hpp"
#include "cachet/simple_cache.hpp"
#include "cachet/stats.hpp"
#include "cachet/tls_options.hpp"
#include "cachet/ttl.hpp"
#include "cachet/version.hpp"
