// RedisCache: the cache operations as Redis commands. Connections come from the
// topology's per-endpoint pools (redis/commands.hpp sends and retries); this
// file never touches a redisContext. Batches over a Cluster are split by node
// in redis/sharded_batch.cpp.
#include "cachet/redis_cache.hpp"

#include <fmt/format.h>
#include <hiredis/hiredis.h>

#include <algorithm>
#include <string>
#include <utility>

#include "core/log.hpp"
#include "metrics/histogram.hpp"
#include "metrics/op_metrics.hpp"
#include "redis/commands.hpp"
#include "redis/make_topology.hpp"
#include "redis/sharded_batch.hpp"
#include "redis/url.hpp"

namespace cachet {

namespace {

using redis::Connection;
using redis::Failure;
using redis::ReplyPtr;
using redis::Request;
using redis::Route;

// SCAN MATCH pattern matching exactly the keys that start with `prefix`.
std::string match_pattern(std::string_view prefix) {
  std::string p;
  p.reserve(prefix.size() + 8);
  for (char c : prefix) {
    if (c == '*' || c == '?' || c == '[' || c == ']' || c == '\\') p += '\\';
    p += c;
  }
  p += '*';
  return p;
}

}  // namespace

struct RedisCache::Impl final : redis::Commands {
  RedisCache& self;

  Impl(RedisCache& cache, RedisOptions opts) : Commands(opts, redis::make_topology(opts)), self(cache) {}

  Ttl resolve(Ttl ttl) const { return ttl.resolve(options.default_timeout); }

  /// An INCRBY error reply: a value that is not an integer, or an overflow, is
  /// increment()'s documented nullopt, not a backend failure; anything else is.
  void increment_refused(Connection& conn, const redisReply& reply) {
    if (reply.type != REDIS_REPLY_ERROR) {
      bad_reply("increment", conn, reply, "INCRBY");
      return;
    }
    Failure failure = conn.reply_failure(reply, "INCRBY");
    if (failure.cause == ErrorCause::not_integer || failure.cause == ErrorCause::overflow) return;
    fail("increment", std::move(failure), conn.endpoint_name());
  }

  /// clear() on one node: SCAN the prefix's keys and UNLINK each batch, the
  /// UNLINK travelling with the next SCAN in one round trip. On a cluster the
  /// keys found are removed through the sharded batch (one UNLINK per key: a
  /// multi-key UNLINK across slots is refused).
  bool clear_node(redis::Pool& pool, const std::string& pattern) {
    std::string cursor = "0";
    std::vector<std::string> batch;  // keys found by the previous SCAN, deleted with the next request
    bool scan = true;
    Route route;
    while (scan || !batch.empty()) {
      if (sharded && !batch.empty()) {
        std::vector<std::string_view> keys;
        for (const auto& k : batch) keys.emplace_back(std::string_view(k).substr(prefix.size()));
        redis::sharded_remove_many(*this, keys);
        batch.clear();
        if (!scan) break;
      }
      auto build = [&](Request& r) {
        if (!batch.empty()) {
          r.begin(batch.size() + 1).arg("UNLINK");
          for (const auto& k : batch) r.arg(k);
        }
        if (scan) r.begin(6).arg("SCAN").arg(cursor).arg("MATCH").arg(pattern).arg("COUNT").arg("1000");
      };
      auto lease = start_on("clear", pool, route, build);
      if (!lease) return false;
      ReplyPtr unlinked;
      ReplyPtr scanned;
      if (!batch.empty() && !(unlinked = receive("clear", *lease, "UNLINK"))) return false;
      if (scan && !(scanned = receive("clear", *lease, "SCAN"))) return false;
      if (unlinked && unlinked->type != REDIS_REPLY_INTEGER) {
        bad_reply("clear", *lease, *unlinked, "UNLINK");
        return false;
      }
      batch.clear();
      if (!scanned) break;
      if (scanned->type != REDIS_REPLY_ARRAY || scanned->elements != 2 ||
          scanned->element[0]->type != REDIS_REPLY_STRING || scanned->element[1]->type != REDIS_REPLY_ARRAY) {
        bad_reply("clear", *lease, *scanned, "SCAN");
        return false;
      }
      cursor.assign(scanned->element[0]->str, scanned->element[0]->len);
      scan = cursor != "0";
      const redisReply& keys = *scanned->element[1];
      batch.reserve(keys.elements);
      for (std::size_t i = 0; i < keys.elements; ++i) {
        if (keys.element[i]->type == REDIS_REPLY_STRING) batch.emplace_back(keys.element[i]->str, keys.element[i]->len);
      }
    }
    return true;
  }

  metrics::Histogram roundtrip;  // call_expect's commands, every call (a round trip dwarfs two clock reads)

 private:
  void count(ErrorKind kind, std::string_view endpoint) override { self.count_failure(kind, endpoint); }
  bool timing() const override { return self.metrics_enabled(); }
  void record_roundtrip(std::uint64_t ns) override { roundtrip.record(ns, 1); }
};

RedisCache::RedisCache(RedisOptions options) {
  options.validate();
  impl_ = std::make_unique<Impl>(*this, std::move(options));
}

RedisCache::~RedisCache() { stop_background_loads(); }

const RedisOptions& RedisCache::options() const noexcept { return impl_->options; }

// The session of a connection to the first node holding data (the master a
// Sentinel names; a Cluster's first master): every node shares one TLS context.
std::optional<TlsSessionInfo> RedisCache::tls_session() {
  auto& im = *impl_;
  if (!im.options.tls.enabled) return std::nullopt;
  Failure failure;
  const auto pools = im.topology->pools(failure);
  if (pools.empty()) {
    im.fail("tls_session", std::move(failure));
    return std::nullopt;
  }
  auto lease = pools.front()->acquire(failure);
  if (!lease) {
    im.lost(failure);
    im.fail("tls_session", std::move(failure));
    return std::nullopt;
  }
  return lease->tls_info();
}

void RedisCache::collect_metrics(MetricsWriter& out) const {
  LatencySnapshot s;
  impl_->roundtrip.read(s);
  out.histogram("cachet_redis_roundtrip_seconds",
                "Redis command round trips in seconds: connection checkout, send, server, reply (every call).", s);
}

Cache::Value RedisCache::do_get(std::string_view key) {
  auto& im = *impl_;
  auto reply = im.call_expect("get", key, true, "GET", REDIS_REPLY_STRING, REDIS_REPLY_NIL,
                              [&](Request& r) { r.begin(2).arg("GET").arg(im.prefix, key); });
  if (!reply || reply->type == REDIS_REPLY_NIL) return std::nullopt;
  return std::string(reply->str, reply->len);
}

bool RedisCache::do_set(std::string_view key, std::string_view value, Ttl ttl) {
  auto& im = *impl_;
  const Ttl t = im.resolve(ttl);
  auto reply = im.call_expect("set", key, false, "SET", REDIS_REPLY_STATUS, REDIS_REPLY_STATUS,
                              [&](Request& r) { im.set_command(r, key, value, t, false); });
  return reply && redis::is_ok(*reply);
}

bool RedisCache::do_add(std::string_view key, std::string_view value, Ttl ttl) {
  auto& im = *impl_;
  const Ttl t = im.resolve(ttl);
  auto reply = im.call_expect("add", key, false, "SET NX", REDIS_REPLY_STATUS, REDIS_REPLY_NIL,
                              [&](Request& r) { im.set_command(r, key, value, t, true); });
  return reply && redis::is_ok(*reply);
}

bool RedisCache::do_remove(std::string_view key) {
  auto& im = *impl_;
  auto reply = im.call_expect("remove", key, false, "UNLINK", REDIS_REPLY_INTEGER, REDIS_REPLY_INTEGER,
                              [&](Request& r) { r.begin(2).arg("UNLINK").arg(im.prefix, key); });
  return reply && reply->integer > 0;
}

bool RedisCache::do_contains(std::string_view key) {
  auto& im = *impl_;
  auto reply = im.call_expect("contains", key, true, "EXISTS", REDIS_REPLY_INTEGER, REDIS_REPLY_INTEGER,
                              [&](Request& r) { r.begin(2).arg("EXISTS").arg(im.prefix, key); });
  return reply && reply->integer > 0;
}

std::vector<Cache::Value> RedisCache::do_get_many(const KeyList& keys) {
  auto& im = *impl_;
  if (im.sharded) return redis::sharded_get_many(im, keys);
  std::vector<Value> out(keys.size());
  // One MGET.
  auto reply = im.call_expect("get_many", keys.front(), true, "MGET", REDIS_REPLY_ARRAY, REDIS_REPLY_ARRAY,
                              [&](Request& r) {
                                std::size_t bytes = 32;
                                for (auto k : keys) bytes += im.prefix.size() + k.size() + 16;
                                r.reserve_more(bytes);
                                r.begin(keys.size() + 1).arg("MGET");
                                for (auto k : keys) r.arg(im.prefix, k);
                              });
  if (!reply) return out;
  if (reply->elements != keys.size()) {
    im.fail("get_many", Failure{ErrorKind::protocol, fmt::format("protocol error: MGET of {} keys returned {} values",
                                                                 keys.size(), reply->elements)});
    return out;
  }
  for (std::size_t i = 0; i < keys.size(); ++i) {
    const redisReply* e = reply->element[i];
    if (e->type == REDIS_REPLY_STRING) out[i].emplace(e->str, e->len);
  }
  return out;
}

bool RedisCache::do_set_many(const ItemList& items, Ttl ttl) {
  auto& im = *impl_;
  const Ttl t = im.resolve(ttl);
  if (im.sharded) return redis::sharded_set_many(im, items, t);
  if (!t.is_finite()) {
    // No expiry: one MSET (atomic; the last value of a repeated key wins).
    auto reply = im.call_expect("set_many", items.front().first, false, "MSET", REDIS_REPLY_STATUS,
                                REDIS_REPLY_STATUS, [&](Request& r) {
                                  std::size_t bytes = 32;
                                  for (const auto& [k, v] : items) bytes += im.prefix.size() + k.size() + v.size() + 32;
                                  r.reserve_more(bytes);
                                  r.begin(items.size() * 2 + 1).arg("MSET");
                                  for (const auto& [k, v] : items) r.arg(im.prefix, k).arg(v);
                                });
    return reply && redis::is_ok(*reply);
  }
  // With an expiry: one pipelined round trip of SET ... PX, in order.
  auto build = [&](Request& r) {
    std::size_t bytes = 0;
    for (const auto& [k, v] : items) bytes += im.prefix.size() + k.size() + v.size() + 64;
    r.reserve_more(bytes);
    for (const auto& [k, v] : items) im.set_command(r, k, v, t, false);
  };
  Route route;
  for (;;) {
    auto lease = im.start("set_many", items.front().first, route, build);
    if (!lease) return false;
    bool all_ok = true;
    ReplyPtr first_bad;
    for (std::size_t i = 0; i < items.size(); ++i) {
      auto reply = im.receive("set_many", *lease, "SET");
      if (!reply) return false;  // connection broken (failure handled)
      if (!redis::is_ok(*reply)) {
        all_ok = false;
        if (!first_bad) first_bad = std::move(reply);  // read the rest first: keep the connection in step
      }
    }
    if (first_bad && im.retry(*lease, *first_bad, route)) continue;
    if (first_bad) im.bad_reply("set_many", *lease, *first_bad, "SET");
    return all_ok;
  }
}

std::size_t RedisCache::do_remove_many(const KeyList& keys) {
  auto& im = *impl_;
  if (im.sharded) return redis::sharded_remove_many(im, keys);
  auto reply = im.call_expect("remove_many", keys.front(), false, "UNLINK", REDIS_REPLY_INTEGER, REDIS_REPLY_INTEGER,
                              [&](Request& r) {
                                r.begin(keys.size() + 1).arg("UNLINK");
                                for (auto k : keys) r.arg(im.prefix, k);
                              });
  return reply ? static_cast<std::size_t>(std::max<long long>(reply->integer, 0)) : 0;
}

std::optional<std::int64_t> RedisCache::do_increment(std::string_view key, std::int64_t delta) {
  auto& im = *impl_;
  const Ttl t = im.options.default_timeout;
  Route route;
  if (!t.is_finite()) {
    // No default expiry: a plain INCRBY creates and keeps counters without one.
    auto build = [&](Request& r) { r.begin(3).arg("INCRBY").arg(im.prefix, key).arg_int(delta); };
    for (;;) {
      auto lease = im.start("increment", key, route, build);
      if (!lease) return std::nullopt;
      auto reply = im.receive("increment", *lease, "INCRBY");
      if (!reply) return std::nullopt;
      if (reply->type == REDIS_REPLY_INTEGER) return reply->integer;
      if (im.retry(*lease, *reply, route)) continue;
      im.increment_refused(*lease, *reply);
      return std::nullopt;
    }
  }

  // MULTI / SET k 0 NX PX <default> / INCRBY k delta / EXEC in one round trip:
  // atomic (no other client's command runs in between), so a counter created
  // here always carries the default timeout and an existing one keeps its
  // expiry (SET NX does nothing to it; INCRBY keeps the TTL). A redirect
  // aborts the transaction (EXECABORT) before anything ran: it is retried whole.
  auto build = [&](Request& r) {
    r.begin(1).arg("MULTI");
    r.begin(6).arg("SET").arg(im.prefix, key).arg("0").arg("NX").arg("PX").arg_int(redis::expire_ms(t));
    r.begin(3).arg("INCRBY").arg(im.prefix, key).arg_int(delta);
    r.begin(1).arg("EXEC");
  };
  for (;;) {
    auto lease = im.start("increment", key, route, build);
    if (!lease) return std::nullopt;
    ReplyPtr first_bad;
    for (const char* command : {"MULTI", "SET NX", "INCRBY"}) {
      auto reply = im.receive("increment", *lease, command);
      if (!reply) return std::nullopt;
      if (reply->type != REDIS_REPLY_STATUS && !first_bad) first_bad = std::move(reply);
    }
    auto exec = im.receive("increment", *lease, "EXEC");
    if (!exec) return std::nullopt;
    if (first_bad && im.retry(*lease, *first_bad, route)) continue;
    if (first_bad) {
      im.bad_reply("increment", *lease, *first_bad, "MULTI");
      return std::nullopt;
    }
    if (exec->type != REDIS_REPLY_ARRAY || exec->elements != 2) {
      if (im.retry(*lease, *exec, route)) continue;
      im.bad_reply("increment", *lease, *exec, "EXEC");
      return std::nullopt;
    }
    const redisReply& created = *exec->element[0];
    const redisReply& value = *exec->element[1];
    if (value.type == REDIS_REPLY_INTEGER) {
      if (redis::is_ok(created)) count(Counter::sets);
      return value.integer;
    }
    im.increment_refused(*lease, value);
    return std::nullopt;
  }
}

std::optional<Ttl> RedisCache::do_ttl(std::string_view key) {
  auto& im = *impl_;
  auto reply = im.call_expect("ttl", key, true, "PTTL", REDIS_REPLY_INTEGER, REDIS_REPLY_INTEGER,
                              [&](Request& r) { r.begin(2).arg("PTTL").arg(im.prefix, key); });
  if (!reply || reply->integer == -2) return std::nullopt;
  if (reply->integer < 0) return Ttl::never();
  return Ttl(std::chrono::milliseconds(std::max<long long>(reply->integer, 1)));
}

bool RedisCache::do_touch(std::string_view key, Ttl ttl) {
  auto& im = *impl_;
  const Ttl t = im.resolve(ttl);
  if (t.is_finite()) {
    auto reply = im.call_expect("touch", key, false, "PEXPIRE", REDIS_REPLY_INTEGER, REDIS_REPLY_INTEGER,
                                [&](Request& r) {
                                  r.begin(3).arg("PEXPIRE").arg(im.prefix, key).arg_int(redis::expire_ms(t));
                                });
    return reply && reply->integer == 1;
  }
  // PERSIST answers 0 both for "missing" and "had no expiry": ask EXISTS in the
  // same round trip.
  auto build = [&](Request& r) {
    r.begin(2).arg("PERSIST").arg(im.prefix, key);
    r.begin(2).arg("EXISTS").arg(im.prefix, key);
  };
  Route route;
  for (;;) {
    auto lease = im.start("touch", key, route, build);
    if (!lease) return false;
    auto persist = im.receive("touch", *lease, "PERSIST");
    if (!persist) return false;
    auto exists = im.receive("touch", *lease, "EXISTS");
    if (!exists) return false;
    if (persist->type != REDIS_REPLY_INTEGER) {
      if (im.retry(*lease, *persist, route)) continue;
      im.bad_reply("touch", *lease, *persist, "PERSIST");
      return false;
    }
    if (exists->type != REDIS_REPLY_INTEGER) {
      im.bad_reply("touch", *lease, *exists, "EXISTS");
      return false;
    }
    return exists->integer > 0;
  }
}

bool RedisCache::do_clear() {
  auto& im = *impl_;
  Failure failure;
  const auto pools = im.topology->pools(failure);
  if (pools.empty()) {
    im.fail("clear", std::move(failure));
    return false;
  }
  if (im.prefix.empty()) {
    if (!im.options.allow_flushdb) {
      detail::log_limited(im.limiter, spdlog::level::warn,
                          "redis clear refused: key_prefix is empty, so clear() would delete the whole database; "
                          "set RedisOptions::allow_flushdb to allow FLUSHDB");
      return false;
    }
    for (auto* pool : pools) {
      Route route;
      auto build = [](Request& r) { r.begin(1).arg("FLUSHDB"); };
      auto lease = im.start_on("clear", *pool, route, build);
      if (!lease) return false;
      auto reply = im.receive("clear", *lease, "FLUSHDB");
      if (!reply) return false;
      if (!redis::is_ok(*reply)) {
        im.bad_reply("clear", *lease, *reply, "FLUSHDB");
        return false;
      }
    }
    return true;
  }
  const std::string pattern = match_pattern(im.prefix);
  for (auto* pool : pools) {
    if (!im.clear_node(*pool, pattern)) return false;
  }
  return true;
}

// The distributed lock of get_or_set: SET NX PX under the prefix, released by
// a compare-and-delete script so that only the holder's token removes it.
LockResult RedisCache::do_try_lock(std::string_view lock_key, std::string_view token, Ttl ttl) {
  auto& im = *impl_;
  const Ttl t = ttl.is_finite() ? ttl : Ttl(std::chrono::seconds(5));
  auto reply = im.call_expect("lock", lock_key, false, "SET NX", REDIS_REPLY_STATUS, REDIS_REPLY_NIL,
                              [&](Request& r) { im.set_command(r, lock_key, token, t, true); });
  if (!reply) return LockResult::unavailable;
  return reply->type == REDIS_REPLY_NIL ? LockResult::held_elsewhere : LockResult::acquired;
}

void RedisCache::do_unlock(std::string_view lock_key, std::string_view token) {
  static constexpr std::string_view kCompareAndDelete =
      "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) else return 0 end";
  auto& im = *impl_;
  im.call_expect("unlock", lock_key, false, "EVAL", REDIS_REPLY_INTEGER, REDIS_REPLY_INTEGER, [&](Request& r) {
    r.begin(5).arg("EVAL").arg(kCompareAndDelete).arg("1").arg(im.prefix, lock_key).arg(token);
  });
}

// Healthy when every part of the key space has a node (Cluster: every slot)
// and every node holding data answers PING.
bool RedisCache::do_ping() {
  auto& im = *impl_;
  Failure failure;
  const auto pools = im.topology->pools(failure);
  if (pools.empty() || !im.topology->serves_all(failure)) {
    im.fail("ping", std::move(failure));
    return false;
  }
  for (auto* pool : pools) {
    Route route;
    auto build = [](Request& r) { r.begin(1).arg("PING"); };
    auto lease = im.start_on("ping", *pool, route, build);
    if (!lease) return false;
    auto reply = im.receive("ping", *lease, "PING");
    if (!reply) return false;
    if (reply->type != REDIS_REPLY_STATUS) {
      im.bad_reply("ping", *lease, *reply, "PING");
      return false;
    }
  }
  return true;
}

}  // namespace cachet
