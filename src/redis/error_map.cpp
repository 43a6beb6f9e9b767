#include "redis/error_map.hpp"

#include <hiredis/hiredis.h>

#include <cerrno>

namespace cachet::redis {

namespace {

bool contains(std::string_view haystack, std::string_view needle) {
  return haystack.find(needle) != std::string_view::npos;
}

bool starts_with(std::string_view s, std::string_view prefix) { return s.substr(0, prefix.size()) == prefix; }

// "<message> (<command> on <endpoint>)", leaving out what is unknown.
std::string with_context(std::string message, std::string_view command, std::string_view endpoint) {
  if (command.empty() && endpoint.empty()) return message;
  message += " (";
  message += command;
  if (!command.empty() && !endpoint.empty()) message += " on ";
  message += endpoint;
  message += ')';
  return message;
}

std::string with_endpoint(std::string message, std::string_view endpoint) {
  return with_context(std::move(message), {}, endpoint);
}

std::string ms_text(std::chrono::milliseconds ms) { return std::to_string(ms.count()) + " ms"; }

bool is_timeout_errno(int e) { return e == EAGAIN || e == EWOULDBLOCK || e == ETIMEDOUT || e == EINPROGRESS; }

MappedError map_io(const RawError& raw) {
  const bool timed_out = is_timeout_errno(raw.sys_errno) || contains(raw.text, "timed out") ||
                         contains(raw.text, "temporarily unavailable");
  const bool refused = raw.sys_errno == ECONNREFUSED || contains(raw.text, "refused");

  if (timed_out) {
    std::string msg;
    switch (raw.stage) {
      case Stage::connect: msg = "connect timeout after " + ms_text(raw.timeout); break;
      case Stage::handshake:
        msg = "connect timeout after " + ms_text(raw.timeout) + " waiting for the " + std::string(raw.command) + " reply";
        break;
      case Stage::command:
        return {{ErrorKind::timeout,
                 with_context("command timeout after " + ms_text(raw.timeout), raw.command, raw.endpoint)},
                true};
    }
    return {{ErrorKind::timeout, with_endpoint(std::move(msg), raw.endpoint)}, true};
  }
  if (refused) return {{ErrorKind::connection, with_context("connection refused", raw.command, raw.endpoint)}, true};

  std::string msg = raw.stage == Stage::connect ? "cannot connect: " : "connection error: ";
  msg += raw.text.empty() ? std::string_view("I/O error") : raw.text;
  return {{ErrorKind::connection, with_context(std::move(msg), raw.command, raw.endpoint)}, true};
}

struct CodeCause {
  std::string_view code;
  ErrorCause cause;
};

constexpr CodeCause kReplyCodes[] = {
    {"WRONGTYPE", ErrorCause::wrong_type}, {"NOAUTH", ErrorCause::auth},         {"WRONGPASS", ErrorCause::auth},
    {"NOPERM", ErrorCause::auth},          {"LOADING", ErrorCause::loading},     {"READONLY", ErrorCause::read_only},
    {"MASTERDOWN", ErrorCause::master_down}, {"BUSY", ErrorCause::busy},         {"OOM", ErrorCause::out_of_memory},
    {"MOVED", ErrorCause::moved},          {"ASK", ErrorCause::ask},             {"TRYAGAIN", ErrorCause::try_again},
    {"CLUSTERDOWN", ErrorCause::cluster_down},
};

}  // namespace

ErrorCause reply_cause(std::string_view reply) noexcept {
  const std::string_view code = reply.substr(0, reply.find(' '));
  for (const auto& c : kReplyCodes) {
    if (code == c.code) return c.cause;
  }
  if (code == "ERR") {
    if (contains(reply, "not an integer")) return ErrorCause::not_integer;
    if (contains(reply, "would overflow")) return ErrorCause::overflow;
  }
  return ErrorCause::unspecified;
}

std::optional<Redirection> parse_redirection(std::string_view reply) {
  const ErrorCause cause = reply_cause(reply);
  if (cause != ErrorCause::moved && cause != ErrorCause::ask) return std::nullopt;
  std::string_view rest = reply.substr(reply.find(' ') + 1);
  const auto space = rest.find(' ');
  if (space == std::string_view::npos) return std::nullopt;
  const std::string_view slot_text = rest.substr(0, space);
  std::string_view endpoint = rest.substr(space + 1);
  if (const auto end = endpoint.find(' '); end != std::string_view::npos) endpoint = endpoint.substr(0, end);
  const auto colon = endpoint.rfind(':');
  if (colon == std::string_view::npos) return std::nullopt;
  auto number = [](std::string_view text, int max) -> std::optional<int> {
    if (text.empty() || text.size() > 5) return std::nullopt;
    int n = 0;
    for (char c : text) {
      if (c < '0' || c > '9') return std::nullopt;
      n = n * 10 + (c - '0');
    }
    if (n > max) return std::nullopt;
    return n;
  };
  const auto slot = number(slot_text, 16383);
  const auto port = number(endpoint.substr(colon + 1), 65535);
  if (!slot || !port || *port == 0) return std::nullopt;
  return Redirection{*slot, std::string(endpoint.substr(0, colon)), *port};
}

MappedError map_error(const RawError& raw) {
  switch (raw.hiredis_err) {
    case 0: break;  // an error reply, below
    case REDIS_ERR_IO: return map_io(raw);
    case REDIS_ERR_EOF:
      return {{ErrorKind::connection, with_context(raw.stage == Stage::connect ? "connection closed while connecting"
                                                                             : "connection closed by the server",
                                                   raw.command, raw.endpoint)},
              true};
    case REDIS_ERR_PROTOCOL: {
      std::string_view detail = raw.text;
      if (starts_with(detail, "Protocol error, ")) detail.remove_prefix(16);
      return {{ErrorKind::protocol,
               with_context("protocol error: " + std::string(detail) + "; is this a Redis server?", raw.command,
                            raw.endpoint)},
              true};
    }
    case REDIS_ERR_OOM:
      return {{ErrorKind::connection, with_endpoint("out of memory in hiredis", raw.endpoint)}, true};
    default: {  // REDIS_ERR_OTHER: e.g. name resolution
      std::string msg = raw.stage == Stage::connect ? "cannot connect: " : "connection error: ";
      msg += raw.text.empty() ? std::string_view("unknown hiredis error") : raw.text;
      return {{ErrorKind::connection, with_endpoint(std::move(msg), raw.endpoint)}, true};
    }
  }

  // An error reply. During the handshake the connection is useless without it.
  const ErrorCause cause = reply_cause(raw.text);
  if (raw.stage != Stage::command) {
    std::string msg(raw.command);
    msg += " failed: ";
    msg += raw.text;
    return {{ErrorKind::connection, with_endpoint(std::move(msg), raw.endpoint), cause}, true};
  }
  std::string msg = with_context(std::string(raw.text), raw.command, raw.endpoint);
  // The connection is healthy after an error reply, except where a fresh
  // connection (new handshake, maybe a new master) is the way out.
  const bool discard =
      cause == ErrorCause::auth || cause == ErrorCause::read_only || cause == ErrorCause::master_down;
  return {{ErrorKind::reply, std::move(msg), cause}, discard};
}

}  // namespace cachet::redis
