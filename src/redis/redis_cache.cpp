// RedisCache: the cache operations as Redis commands. Connections come from the
// topology's per-endpoint pools; this file never touches a redisContext.
#include "cachet/redis_cache.hpp"

#include <fmt/format.h>
#include <hiredis/hiredis.h>

#include <algorithm>
#include <limits>
#include <string>
#include <utility>

#include "core/log.hpp"
#include "metrics/histogram.hpp"
#include "metrics/op_metrics.hpp"
#include "redis/pool.hpp"
#include "redis/settings.hpp"
#include "redis/topology.hpp"
#include "redis/url.hpp"

namespace cachet {

namespace {

using redis::Connection;
using redis::Failure;
using redis::ReplyPtr;
using redis::Request;

// Redis accepts an expiry while now + ttl fits in int64 milliseconds; Ttl
// already caps durations at 2^62 ms (~146 million years), and we clamp to the
// same bound here so that no Ttl can make Redis reject a SET.
constexpr std::int64_t kMaxExpireMs = std::numeric_limits<std::int64_t>::max() / 2;

std::int64_t expire_ms(Ttl finite) { return std::min<std::int64_t>(finite.duration().count(), kMaxExpireMs); }

const char* reply_type_name(int type) {
  switch (type) {
    case REDIS_REPLY_STRING: return "string";
    case REDIS_REPLY_ARRAY: return "array";
    case REDIS_REPLY_INTEGER: return "integer";
    case REDIS_REPLY_NIL: return "nil";
    case REDIS_REPLY_STATUS: return "status";
    case REDIS_REPLY_ERROR: return "error";
    default: return "unknown";
  }
}

bool is_ok(const redisReply& r) {
  return r.type == REDIS_REPLY_STATUS && std::string_view(r.str, r.len) == "OK";
}

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

struct RedisCache::Impl {
  RedisCache& self;
  const RedisOptions options;
  const std::string& prefix;
  std::unique_ptr<redis::Topology> topology;
  detail::RateLimiter limiter;
  metrics::Histogram roundtrip;  // call_expect's commands, every call (a round trip dwarfs two clock reads)

  Impl(RedisCache& cache, RedisOptions opts) : self(cache), options(std::move(opts)), prefix(options.key_prefix) {
    topology = std::make_unique<redis::StandaloneTopology>(
        std::make_unique<redis::Pool>(redis::endpoint_of(options), redis::connection_settings(options, true),
                                      redis::effective_pool_size(options), options.pool_wait_timeout));
  }

  Ttl resolve(Ttl ttl) const { return ttl.resolve(options.default_timeout); }

  /// A backend failure: counted (errors + errors_<kind>), then logged
  /// (rate-limited) under FailOpen or thrown under Throw.
  void fail(const char* op, Failure&& failure, std::string_view endpoint = {}) {
    self.count_failure(failure.kind, endpoint);
    if (options.on_error == ErrorPolicy::Throw) throw BackendError(failure.kind, failure.message, failure.cause);
    detail::log_limited(limiter, spdlog::level::warn, fmt::format("redis {} failed: {}", op, failure.message));
  }

  /// Borrows the connection for `prefix + key`, encodes the commands `build`
  /// writes and queues them. Empty lease after a (handled) failure.
  template <class Build>
  redis::Pool::Lease start(const char* op, std::string_view route_key, Build&& build) {
    return start_on(op, topology->pool_for(prefix, route_key), std::forward<Build>(build));
  }

  template <class Build>
  redis::Pool::Lease start_on(const char* op, redis::Pool& pool, Build&& build) {
    Failure failure;
    auto lease = pool.acquire(failure);
    if (!lease) {
      fail(op, std::move(failure), pool.endpoint().describe());
      return {};
    }
    Request& request = lease->request();
    request.clear();
    build(request);
    const bool sent = lease->send(request, failure);
    request.clear();  // written (or failed); this also releases a very large request at once
    if (!sent) {
      fail(op, std::move(failure), lease->endpoint_name());
      return {};
    }
    return lease;
  }

  /// The next reply; null after a (handled) I/O failure.
  ReplyPtr receive(const char* op, Connection& conn, std::string_view command) {
    Failure failure;
    auto reply = conn.receive(failure, command);
    if (!reply) fail(op, std::move(failure), conn.endpoint_name());
    return reply;
  }

  /// An error reply, or a reply of a type the command cannot give.
  void bad_reply(const char* op, Connection& conn, const redisReply& reply, std::string_view command) {
    if (reply.type == REDIS_REPLY_ERROR) {
      fail(op, conn.reply_failure(reply, command), conn.endpoint_name());
      return;
    }
    conn.mark_broken();  // out of step with the server: never reuse
    fail(op, Failure{ErrorKind::protocol, fmt::format("protocol error: unexpected {} reply to {} ({})",
                                                      reply_type_name(reply.type), command, conn.endpoint_name())},
         conn.endpoint_name());
  }

  /// One command whose reply must be of type t1 or t2; an error reply or any
  /// other type is a failure (handled). Null on failure.
  template <class Build>
  ReplyPtr call_expect(const char* op, std::string_view key, const char* command, int t1, int t2, Build&& build) {
    const std::uint64_t t0 = self.metrics_enabled() ? metrics::now_ns() : 0;
    auto lease = start(op, key, std::forward<Build>(build));
    if (!lease) return nullptr;
    auto reply = receive(op, *lease, command);
    if (!reply) return nullptr;
    if (t0 != 0) roundtrip.record(metrics::now_ns() - t0, 1);
    if (reply->type != t1 && reply->type != t2) {
      bad_reply(op, *lease, *reply, command);
      return nullptr;
    }
    return reply;
  }

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

  void set_command(Request& r, std::string_view key, std::string_view value, Ttl ttl, bool nx) {
    r.reserve_more(prefix.size() + key.size() + value.size() + 64);
    const std::size_t argc = 3 + (nx ? 1 : 0) + (ttl.is_finite() ? 2 : 0);
    r.begin(argc).arg("SET").arg(prefix, key).arg(value);
    if (nx) r.arg("NX");
    if (ttl.is_finite()) r.arg("PX").arg_int(expire_ms(ttl));
  }
};

RedisCache::RedisCache(RedisOptions options) {
  options.validate();
  impl_ = std::make_unique<Impl>(*this, std::move(options));
}

RedisCache::~RedisCache() { stop_background_loads(); }

const RedisOptions& RedisCache::options() const noexcept { return impl_->options; }

std::optional<TlsSessionInfo> RedisCache::tls_session() {
  if (!impl_->options.tls.enabled) return std::nullopt;
  Failure failure;
  auto lease = impl_->topology->pools().front()->acquire(failure);
  if (!lease) impl_->fail("tls_session", std::move(failure));
  return lease ? std::optional<TlsSessionInfo>(lease->tls_info()) : std::nullopt;
}

void RedisCache::collect_metrics(MetricsWriter& out) const {
  LatencySnapshot s;
  impl_->roundtrip.read(s);
  out.histogram("cachet_redis_roundtrip_seconds",
                "Redis command round trips in seconds: connection checkout, send, server, reply (every call).", s);
}

Cache::Value RedisCache::do_get(std::string_view key) {
  auto& im = *impl_;
  auto reply = im.call_expect("get", key, "GET", REDIS_REPLY_STRING, REDIS_REPLY_NIL,
                              [&](Request& r) { r.begin(2).arg("GET").arg(im.prefix, key); });
  if (!reply || reply->type == REDIS_REPLY_NIL) return std::nullopt;
  return std::string(reply->str, reply->len);
}

bool RedisCache::do_set(std::string_view key, std::string_view value, Ttl ttl) {
  auto& im = *impl_;
  const Ttl t = im.resolve(ttl);
  auto reply = im.call_expect("set", key, "SET", REDIS_REPLY_STATUS, REDIS_REPLY_STATUS,
                              [&](Request& r) { im.set_command(r, key, value, t, false); });
  return reply && is_ok(*reply);
}

bool RedisCache::do_add(std::string_view key, std::string_view value, Ttl ttl) {
  auto& im = *impl_;
  const Ttl t = im.resolve(ttl);
  auto reply = im.call_expect("add", key, "SET NX", REDIS_REPLY_STATUS, REDIS_REPLY_NIL,
                              [&](Request& r) { im.set_command(r, key, value, t, true); });
  return reply && is_ok(*reply);
}

bool RedisCache::do_remove(std::string_view key) {
  auto& im = *impl_;
  auto reply = im.call_expect("remove", key, "UNLINK", REDIS_REPLY_INTEGER, REDIS_REPLY_INTEGER,
                              [&](Request& r) { r.begin(2).arg("UNLINK").arg(im.prefix, key); });
  return reply && reply->integer > 0;
}

bool RedisCache::do_contains(std::string_view key) {
  auto& im = *impl_;
  auto reply = im.call_expect("contains", key, "EXISTS", REDIS_REPLY_INTEGER, REDIS_REPLY_INTEGER,
                              [&](Request& r) { r.begin(2).arg("EXISTS").arg(im.prefix, key); });
  return reply && reply->integer > 0;
}

std::vector<Cache::Value> RedisCache::do_get_many(const KeyList& keys) {
  auto& im = *impl_;
  std::vector<Value> out(keys.size());
  // One MGET. (A cluster topology will split the keys by slot here.)
  auto reply = im.call_expect("get_many", keys.front(), "MGET", REDIS_REPLY_ARRAY, REDIS_REPLY_ARRAY, [&](Request& r) {
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
  if (!t.is_finite()) {
    // No expiry: one MSET (atomic; the last value of a repeated key wins).
    auto reply = im.call_expect("set_many", items.front().first, "MSET", REDIS_REPLY_STATUS, REDIS_REPLY_STATUS,
                                [&](Request& r) {
                                  std::size_t bytes = 32;
                                  for (const auto& [k, v] : items) bytes += im.prefix.size() + k.size() + v.size() + 32;
                                  r.reserve_more(bytes);
                                  r.begin(items.size() * 2 + 1).arg("MSET");
                                  for (const auto& [k, v] : items) r.arg(im.prefix, k).arg(v);
                                });
    return reply && is_ok(*reply);
  }
  // With an expiry: one pipelined round trip of SET ... PX, in order.
  auto lease = im.start("set_many", items.front().first, [&](Request& r) {
    std::size_t bytes = 0;
    for (const auto& [k, v] : items) bytes += im.prefix.size() + k.size() + v.size() + 64;
    r.reserve_more(bytes);
    for (const auto& [k, v] : items) im.set_command(r, k, v, t, false);
  });
  if (!lease) return false;
  bool all_ok = true;
  ReplyPtr first_bad;
  for (std::size_t i = 0; i < items.size(); ++i) {
    auto reply = im.receive("set_many", *lease, "SET");
    if (!reply) return false;  // connection broken (failure handled)
    if (!is_ok(*reply)) {
      all_ok = false;
      if (!first_bad) first_bad = std::move(reply);  // read the rest first: keep the connection in step
    }
  }
  if (first_bad) im.bad_reply("set_many", *lease, *first_bad, "SET");
  return all_ok;
}

std::size_t RedisCache::do_remove_many(const KeyList& keys) {
  auto& im = *impl_;
  auto reply = im.call_expect("remove_many", keys.front(), "UNLINK", REDIS_REPLY_INTEGER, REDIS_REPLY_INTEGER,
                              [&](Request& r) {
                                r.begin(keys.size() + 1).arg("UNLINK");
                                for (auto k : keys) r.arg(im.prefix, k);
                              });
  return reply ? static_cast<std::size_t>(std::max<long long>(reply->integer, 0)) : 0;
}

std::optional<std::int64_t> RedisCache::do_increment(std::string_view key, std::int64_t delta) {
  auto& im = *impl_;
  const Ttl t = im.options.default_timeout;
  if (!t.is_finite()) {
    // No default expiry: a plain INCRBY creates and keeps counters without one.
    auto lease = im.start("increment", key, [&](Request& r) { r.begin(3).arg("INCRBY").arg(im.prefix, key).arg_int(delta); });
    if (!lease) return std::nullopt;
    auto reply = im.receive("increment", *lease, "INCRBY");
    if (!reply) return std::nullopt;
    if (reply->type == REDIS_REPLY_INTEGER) return reply->integer;
    im.increment_refused(*lease, *reply);
    return std::nullopt;
  }

  // MULTI / SET k 0 NX PX <default> / INCRBY k delta / EXEC in one round trip:
  // atomic (no other client's command runs in between), so a counter created
  // here always carries the default timeout and an existing one keeps its
  // expiry (SET NX does nothing to it; INCRBY keeps the TTL).
  auto lease = im.start("increment", key, [&](Request& r) {
    r.begin(1).arg("MULTI");
    r.begin(6).arg("SET").arg(im.prefix, key).arg("0").arg("NX").arg("PX").arg_int(expire_ms(t));
    r.begin(3).arg("INCRBY").arg(im.prefix, key).arg_int(delta);
    r.begin(1).arg("EXEC");
  });
  if (!lease) return std::nullopt;
  ReplyPtr first_bad;
  for (const char* command : {"MULTI", "SET NX", "INCRBY"}) {
    auto reply = im.receive("increment", *lease, command);
    if (!reply) return std::nullopt;
    if (reply->type != REDIS_REPLY_STATUS && !first_bad) first_bad = std::move(reply);
  }
  auto exec = im.receive("increment", *lease, "EXEC");
  if (!exec) return std::nullopt;
  if (first_bad) {
    im.bad_reply("increment", *lease, *first_bad, "MULTI");
    return std::nullopt;
  }
  if (exec->type != REDIS_REPLY_ARRAY || exec->elements != 2) {
    im.bad_reply("increment", *lease, *exec, "EXEC");
    return std::nullopt;
  }
  const redisReply& created = *exec->element[0];
  const redisReply& value = *exec->element[1];
  if (value.type == REDIS_REPLY_INTEGER) {
    if (is_ok(created)) count(Counter::sets);
    return value.integer;
  }
  im.increment_refused(*lease, value);
  return std::nullopt;
}

std::optional<Ttl> RedisCache::do_ttl(std::string_view key) {
  auto& im = *impl_;
  auto reply = im.call_expect("ttl", key, "PTTL", REDIS_REPLY_INTEGER, REDIS_REPLY_INTEGER,
                              [&](Request& r) { r.begin(2).arg("PTTL").arg(im.prefix, key); });
  if (!reply || reply->integer == -2) return std::nullopt;
  if (reply->integer < 0) return Ttl::never();
  return Ttl(std::chrono::milliseconds(std::max<long long>(reply->integer, 1)));
}

bool RedisCache::do_touch(std::string_view key, Ttl ttl) {
  auto& im = *impl_;
  const Ttl t = im.resolve(ttl);
  if (t.is_finite()) {
    auto reply = im.call_expect("touch", key, "PEXPIRE", REDIS_REPLY_INTEGER, REDIS_REPLY_INTEGER, [&](Request& r) {
      r.begin(3).arg("PEXPIRE").arg(im.prefix, key).arg_int(expire_ms(t));
    });
    return reply && reply->integer == 1;
  }
  // PERSIST answers 0 both for "missing" and "had no expiry": ask EXISTS in the
  // same round trip.
  auto lease = im.start("touch", key, [&](Request& r) {
    r.begin(2).arg("PERSIST").arg(im.prefix, key);
    r.begin(2).arg("EXISTS").arg(im.prefix, key);
  });
  if (!lease) return false;
  auto persist = im.receive("touch", *lease, "PERSIST");
  if (!persist) return false;
  auto exists = im.receive("touch", *lease, "EXISTS");
  if (!exists) return false;
  if (persist->type != REDIS_REPLY_INTEGER) {
    im.bad_reply("touch", *lease, *persist, "PERSIST");
    return false;
  }
  if (exists->type != REDIS_REPLY_INTEGER) {
    im.bad_reply("touch", *lease, *exists, "EXISTS");
    return false;
  }
  return exists->integer > 0;
}

bool RedisCache::do_clear() {
  auto& im = *impl_;
  if (im.prefix.empty()) {
    if (!im.options.allow_flushdb) {
      detail::log_limited(im.limiter, spdlog::level::warn,
                          "redis clear refused: key_prefix is empty, so clear() would delete the whole database; "
                          "set RedisOptions::allow_flushdb to allow FLUSHDB");
      return false;
    }
    for (auto* pool : im.topology->pools()) {
      auto lease = im.start_on("clear", *pool, [](Request& r) { r.begin(1).arg("FLUSHDB"); });
      if (!lease) return false;
      auto reply = im.receive("clear", *lease, "FLUSHDB");
      if (!reply) return false;
      if (!is_ok(*reply)) {
        im.bad_reply("clear", *lease, *reply, "FLUSHDB");
        return false;
      }
    }
    return true;
  }

  // SCAN the prefix's keys (glob characters in the prefix escaped) and UNLINK
  // each batch, the UNLINK travelling with the next SCAN in one round trip.
  const std::string pattern = match_pattern(im.prefix);
  for (auto* pool : im.topology->pools()) {
    std::string cursor = "0";
    std::vector<std::string> batch;  // keys found by the previous SCAN, deleted with the next request
    bool scan = true;
    while (scan || !batch.empty()) {
      auto lease = im.start_on("clear", *pool, [&](Request& r) {
        if (!batch.empty()) {
          r.begin(batch.size() + 1).arg("UNLINK");
          for (const auto& k : batch) r.arg(k);
        }
        if (scan) r.begin(6).arg("SCAN").arg(cursor).arg("MATCH").arg(pattern).arg("COUNT").arg("1000");
      });
      if (!lease) return false;
      ReplyPtr unlinked;
      ReplyPtr scanned;
      if (!batch.empty() && !(unlinked = im.receive("clear", *lease, "UNLINK"))) return false;
      if (scan && !(scanned = im.receive("clear", *lease, "SCAN"))) return false;
      if (unlinked && unlinked->type != REDIS_REPLY_INTEGER) {
        im.bad_reply("clear", *lease, *unlinked, "UNLINK");
        return false;
      }
      batch.clear();
      if (!scanned) break;
      if (scanned->type != REDIS_REPLY_ARRAY || scanned->elements != 2 ||
          scanned->element[0]->type != REDIS_REPLY_STRING || scanned->element[1]->type != REDIS_REPLY_ARRAY) {
        im.bad_reply("clear", *lease, *scanned, "SCAN");
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
  }
  return true;
}

// The distributed lock of get_or_set: SET NX PX under the prefix, released by
// a compare-and-delete script so that only the holder's token removes it.
LockResult RedisCache::do_try_lock(std::string_view lock_key, std::string_view token, Ttl ttl) {
  auto& im = *impl_;
  const Ttl t = ttl.is_finite() ? ttl : Ttl(std::chrono::seconds(5));
  auto reply = im.call_expect("lock", lock_key, "SET NX", REDIS_REPLY_STATUS, REDIS_REPLY_NIL,
                              [&](Request& r) { im.set_command(r, lock_key, token, t, true); });
  if (!reply) return LockResult::unavailable;
  return reply->type == REDIS_REPLY_NIL ? LockResult::held_elsewhere : LockResult::acquired;
}

void RedisCache::do_unlock(std::string_view lock_key, std::string_view token) {
  static constexpr std::string_view kCompareAndDelete =
      "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) else return 0 end";
  auto& im = *impl_;
  im.call_expect("unlock", lock_key, "EVAL", REDIS_REPLY_INTEGER, REDIS_REPLY_INTEGER, [&](Request& r) {
    r.begin(5).arg("EVAL").arg(kCompareAndDelete).arg("1").arg(im.prefix, lock_key).arg(token);
  });
}

bool RedisCache::do_ping() {
  auto& im = *impl_;
  for (auto* pool : im.topology->pools()) {
    auto lease = im.start_on("ping", *pool, [](Request& r) { r.begin(1).arg("PING"); });
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
