// Internal: how RedisCache sends a command and reads its replies, whatever
// the topology. Borrows a connection from the pool the topology names, writes
// the request (with ASKING / READONLY in front when the route says so), reads
// the replies, and turns failures into counted / logged / thrown errors.
//
// retry() is where an operation learns that its key lives elsewhere: the
// error reply's cause goes to Topology::follow(), which updates the route (or
// refuses: then the reply is the operation's failure). A standalone server
// never redirects, so its success path is what it always was: one request
// written, one reply read.
#pragma once

#include <hiredis/hiredis.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

#include "cachet/redis_cache.hpp"
#include "core/log.hpp"
#include "metrics/op_metrics.hpp"
#include "redis/pool.hpp"
#include "redis/topology.hpp"

namespace cachet::redis {

/// Replies of OK.
bool is_ok(const redisReply& r);

/// A Ttl's milliseconds for PX / PEXPIRE, clamped to what Redis accepts.
std::int64_t expire_ms(Ttl finite);

class Commands {
 public:
  Commands(RedisOptions opts, std::unique_ptr<Topology> topo);
  virtual ~Commands() = default;
  Commands(const Commands&) = delete;
  Commands& operator=(const Commands&) = delete;

  const RedisOptions options;
  const std::string& prefix;
  const std::unique_ptr<Topology> topology;
  /// True when keys live on several nodes (Cluster): batches are split by node.
  const bool sharded;
  detail::RateLimiter limiter;

  /// A backend failure: counted (errors + errors_<kind>, with the endpoint
  /// for observers), then logged (rate-limited) under FailOpen or thrown under Throw.
  void fail(const char* op, Failure&& failure, std::string_view endpoint = {});

  /// Borrows the connection for `prefix + key` (or the route's redirect
  /// target), encodes what `build` writes and sends it. Empty lease after a
  /// (handled) failure.
  template <class Build>
  Pool::Lease start(const char* op, std::string_view route_key, Route& route, Build& build) {
    Failure failure;
    Pool* pool = route.pool != nullptr ? route.pool : topology->pool_for(prefix, route_key, route, failure);
    if (pool == nullptr) {
      fail(op, std::move(failure));
      return {};
    }
    return start_on(op, *pool, route, build);
  }

  template <class Build>
  Pool::Lease start_on(const char* op, Pool& pool, Route& route, Build& build) {
    route.used = &pool;
    Failure failure;
    auto lease = pool.acquire(failure);
    if (!lease) {
      lost(failure);
      fail(op, std::move(failure), pool.endpoint().describe());
      return {};
    }
    Request& request = lease->request();
    request.clear();
    if (route.readonly) request.begin(1).arg("READONLY");
    if (route.asking) request.begin(1).arg("ASKING");
    build(request);
    const bool sent = lease->send(request, failure);
    request.clear();  // sent (or failed); this also releases a very large request at once
    if (!sent) {
      lost(failure);
      fail(op, std::move(failure), lease->endpoint_name());
      return {};
    }
    if ((route.readonly || route.asking) && !skip_prelude(op, *lease, route)) return {};
    return lease;
  }

  /// The next reply; null after a (handled) I/O failure.
  ReplyPtr receive(const char* op, Connection& conn, std::string_view command);

  /// An error reply, or a reply of a type the command cannot give.
  void bad_reply(const char* op, Connection& conn, const redisReply& reply, std::string_view command);

  /// True when `reply` is an error the topology answers with a new route
  /// (MOVED, ASK, TRYAGAIN, CLUSTERDOWN, READONLY): run the operation again.
  bool retry(Connection& conn, const redisReply& reply, Route& route);

  /// A connection-level failure tells the topology that nodes may have moved.
  void lost(const Failure& failure);

  /// One command whose reply must be of type t1 or t2, retried where the
  /// topology redirects it; an error reply or any other type is a failure
  /// (handled). Null on failure.
  template <class Build>
  ReplyPtr call_expect(const char* op, std::string_view key, bool read, const char* command, int t1, int t2,
                       Build&& build) {
    Route route;
    route.read = read;
    const std::uint64_t t0 = timing() ? metrics::now_ns() : 0;
    for (;;) {
      auto lease = start(op, key, route, build);
      if (!lease) return nullptr;
      auto reply = receive(op, *lease, command);
      if (!reply) return nullptr;
      if (reply->type == t1 || reply->type == t2) {
        if (t0 != 0) record_roundtrip(metrics::now_ns() - t0);
        return reply;
      }
      if (retry(*lease, *reply, route)) continue;
      bad_reply(op, *lease, *reply, command);
      return nullptr;
    }
  }

  /// SET key value [NX] [PX ttl] of `prefix + key`.
  void set_command(Request& r, std::string_view key, std::string_view value, Ttl ttl, bool nx) const;

 private:
  virtual void count(ErrorKind kind, std::string_view endpoint) = 0;
  /// Round trips of call_expect() are timed while timing() is true.
  virtual bool timing() const { return false; }
  virtual void record_roundtrip(std::uint64_t ns) { (void)ns; }
  bool skip_prelude(const char* op, Connection& conn, const Route& route);
};

}  // namespace cachet::redis
