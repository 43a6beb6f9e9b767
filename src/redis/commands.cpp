#include "redis/commands.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <limits>

namespace cachet::redis {

namespace {

// Redis accepts an expiry while now + ttl fits in int64 milliseconds; Ttl
// already caps durations at 2^62 ms (~146 million years), and we clamp to the
// same bound here so that no Ttl can make Redis reject a SET.
constexpr std::int64_t kMaxExpireMs = std::numeric_limits<std::int64_t>::max() / 2;

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

}  // namespace

bool is_ok(const redisReply& r) {
  return r.type == REDIS_REPLY_STATUS && std::string_view(r.str, r.len) == "OK";
}

std::int64_t expire_ms(Ttl finite) { return std::min<std::int64_t>(finite.duration().count(), kMaxExpireMs); }

Commands::Commands(RedisOptions opts, std::unique_ptr<Topology> topo)
    : options(std::move(opts)),
      prefix(options.key_prefix),
      topology(std::move(topo)),
      sharded(options.topology == RedisTopology::cluster) {}

void Commands::fail(const char* op, Failure&& failure, std::string_view endpoint) {
  count(failure.kind, endpoint);
  if (options.on_error == ErrorPolicy::Throw) throw BackendError(failure.kind, failure.message, failure.cause);
  detail::log_limited(limiter, spdlog::level::warn, fmt::format("redis {} failed: {}", op, failure.message));
}

void Commands::lost(const Failure& failure) {
  if (failure.kind == ErrorKind::connection || failure.kind == ErrorKind::timeout) topology->lost();
}

ReplyPtr Commands::receive(const char* op, Connection& conn, std::string_view command) {
  Failure failure;
  auto reply = conn.receive(failure, command);
  if (!reply) {
    lost(failure);
    fail(op, std::move(failure), conn.endpoint_name());
  }
  return reply;
}

void Commands::bad_reply(const char* op, Connection& conn, const redisReply& reply, std::string_view command) {
  if (reply.type == REDIS_REPLY_ERROR) {
    fail(op, conn.reply_failure(reply, command), conn.endpoint_name());
    return;
  }
  conn.mark_broken();  // out of step with the server: never reuse
  fail(op, Failure{ErrorKind::protocol, fmt::format("protocol error: unexpected {} reply to {} ({})",
                                                    reply_type_name(reply.type), command, conn.endpoint_name())},
       conn.endpoint_name());
}

bool Commands::retry(Connection& conn, const redisReply& reply, Route& route) {
  if (reply.type != REDIS_REPLY_ERROR || route.used == nullptr) return false;
  const std::string_view text(reply.str, reply.len);
  const ErrorCause cause = reply_cause(text);
  if (cause == ErrorCause::read_only || cause == ErrorCause::master_down) conn.mark_broken();  // a demoted node
  return topology->follow(cause, text, *route.used, route);
}

bool Commands::skip_prelude(const char* op, Connection& conn, const Route& route) {
  for (const char* command : {"READONLY", "ASKING"}) {
    if ((command[0] == 'R' && !route.readonly) || (command[0] == 'A' && !route.asking)) continue;
    auto reply = receive(op, conn, command);
    if (!reply) return false;
    if (!is_ok(*reply)) {
      // The command's own replies are still pending: never reuse the connection.
      conn.mark_broken();
      bad_reply(op, conn, *reply, command);
      return false;
    }
  }
  return true;
}

void Commands::set_command(Request& r, std::string_view key, std::string_view value, Ttl ttl, bool nx) const {
  r.reserve_more(prefix.size() + key.size() + value.size() + 64);
  const std::size_t argc = 3 + (nx ? 1 : 0) + (ttl.is_finite() ? 2 : 0);
  r.begin(argc).arg("SET").arg(prefix, key).arg(value);
  if (nx) r.arg("NX");
  if (ttl.is_finite()) r.arg("PX").arg_int(expire_ms(ttl));
}

}  // namespace cachet::redis
