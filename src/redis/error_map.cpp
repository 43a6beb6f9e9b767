#include "redis/error_map.hpp"

#include <hiredis/hiredis.h>


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

ErrorCause tls_cause(net::Cause c) {
  switch (c) {
    case net::Cause::tls_untrusted: return ErrorCause::certificate_untrusted;
    case net::Cause::tls_hostname: return ErrorCause::certificate_host_mismatch;
    case net::Cause::tls_expired: return ErrorCause::certificate_expired;
    case net::Cause::tls_client_cert_required: return ErrorCause::client_certificate_required;
    case net::Cause::tls_client_cert_rejected: return ErrorCause::client_certificate_rejected;
    case net::Cause::tls_plaintext_peer: return ErrorCause::plaintext_server;
    case net::Cause::tls_peer_speaks_tls: return ErrorCause::tls_server;
    default: return ErrorCause::unspecified;
  }
}

MappedError map_net(const RawError& raw) {
  if (net::is_tls(raw.net) && raw.net != net::Cause::tls_handshake_timeout) {
    return {{ErrorKind::tls, with_context(std::string(raw.text), raw.command, raw.endpoint), tls_cause(raw.net)},
            true};
  }
  if (net::is_timeout(raw.net)) {
    if (raw.net == net::Cause::tls_handshake_timeout) {
      return {{ErrorKind::timeout, with_endpoint("TLS handshake timeout after " + ms_text(raw.timeout), raw.endpoint),
               ErrorCause::tls_handshake_timeout},
              true};
    }
    switch (raw.stage) {
      case Stage::connect:
        return {{ErrorKind::timeout, with_endpoint("connect timeout after " + ms_text(raw.timeout), raw.endpoint)},
                true};
      case Stage::handshake:
        return {{ErrorKind::timeout, with_endpoint("connect timeout after " + ms_text(raw.timeout) +
                                                       " waiting for the " + std::string(raw.command) + " reply",
                                                   raw.endpoint)},
                true};
      case Stage::command:
        return {{ErrorKind::timeout,
                 with_context("command timeout after " + ms_text(raw.timeout), raw.command, raw.endpoint)},
                true};
    }
  }
  switch (raw.net) {
    case net::Cause::refused:
      return {{ErrorKind::connection, with_context("connection refused", raw.command, raw.endpoint)}, true};
    case net::Cause::closed:
      return {{ErrorKind::connection, with_context(raw.stage == Stage::connect ? "connection closed while connecting"
                                                                             : "connection closed by the server",
                                                   raw.command, raw.endpoint)},
              true};
    default: {  // resolve, connect_failed, reset, io: the transport's words
      std::string msg = raw.stage == Stage::connect ? "cannot connect: " : "connection error: ";
      msg += raw.text.empty() ? std::string_view("I/O error") : raw.text;
      return {{ErrorKind::connection, with_context(std::move(msg), raw.command, raw.endpoint)}, true};
    }
  }
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
  if (raw.net != net::Cause::none) return map_net(raw);
  switch (raw.hiredis_err) {
    case 0: break;  // an error reply, below
    case REDIS_ERR_PROTOCOL: {
      std::string_view detail = raw.text;
      if (starts_with(detail, "Protocol error, ")) detail.remove_prefix(16);
      return {{ErrorKind::protocol,
               with_context("protocol error: " + std::string(detail) + "; is this a Redis server?", raw.command,
                            raw.endpoint)},
              true};
    }
    default:  // REDIS_ERR_OOM
      return {{ErrorKind::connection, with_endpoint("out of memory in hiredis' reply reader", raw.endpoint)}, true};
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
