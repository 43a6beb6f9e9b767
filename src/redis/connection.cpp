#include "redis/connection.hpp"

#include <hiredis/hiredis.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <algorithm>
#include <cerrno>

namespace cachet::redis {

namespace {

timeval to_timeval(std::chrono::milliseconds ms) {
  if (ms.count() < 1) ms = std::chrono::milliseconds(1);
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(ms.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>((ms.count() % 1000) * 1000);
  return tv;
}

std::chrono::milliseconds remaining(std::chrono::steady_clock::time_point deadline) {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
  return std::max(left, std::chrono::milliseconds(1));
}

}  // namespace

std::string Endpoint::describe() const {
  if (!unix_socket.empty()) return unix_socket;
  if (host.find(':') != std::string::npos) return "[" + host + "]:" + std::to_string(port);
  return host + ":" + std::to_string(port);
}

void ReplyDeleter::operator()(redisReply* r) const noexcept { freeReplyObject(r); }
void Connection::ContextDeleter::operator()(redisContext* c) const noexcept { redisFree(c); }

Connection::Connection(ContextPtr context, std::string endpoint_name, std::chrono::milliseconds socket_timeout)
    : context_(std::move(context)), endpoint_name_(std::move(endpoint_name)), socket_timeout_(socket_timeout) {}

Connection::~Connection() = default;

std::unique_ptr<Connection> Connection::open(const Endpoint& endpoint, const ConnectionSettings& settings,
                                             Failure& failure) {
  const auto deadline = std::chrono::steady_clock::now() + settings.connect_timeout;
  const timeval tv = to_timeval(settings.connect_timeout);
  std::string name = endpoint.describe();

  errno = 0;
  ContextPtr ctx(endpoint.unix_socket.empty() ? redisConnectWithTimeout(endpoint.host.c_str(), endpoint.port, tv)
                                              : redisConnectUnixWithTimeout(endpoint.unix_socket.c_str(), tv));
  const int saved_errno = errno;
  if (!ctx) {
    failure = {ErrorKind::connection, "cannot connect: out of memory allocating a hiredis context (" + name + ")"};
    return nullptr;
  }
  if (ctx->err != 0) {
    RawError raw;
    raw.stage = Stage::connect;
    raw.hiredis_err = ctx->err;
    raw.sys_errno = saved_errno;
    raw.text = ctx->errstr;
    raw.endpoint = name;
    raw.timeout = settings.connect_timeout;
    failure = map_error(raw).failure;
    return nullptr;
  }

  std::unique_ptr<Connection> conn(new Connection(std::move(ctx), std::move(name), settings.socket_timeout));
  if (settings.keepalive && endpoint.unix_socket.empty() && redisEnableKeepAlive(conn->context_.get()) != REDIS_OK) {
    failure = conn->io_failure(Stage::connect, "", settings.connect_timeout, errno);
    return nullptr;
  }
  if (!conn->handshake(settings, deadline, failure)) return nullptr;
  if (!conn->set_timeout(settings.socket_timeout)) {
    failure = conn->io_failure(Stage::connect, "", settings.connect_timeout, errno);
    return nullptr;
  }
  return conn;
}

bool Connection::set_timeout(std::chrono::milliseconds timeout) {
  return redisSetTimeout(context_.get(), to_timeval(timeout)) == REDIS_OK;
}

bool Connection::handshake(const ConnectionSettings& settings, std::chrono::steady_clock::time_point deadline,
                           Failure& failure) {
  if (settings.password.empty() && settings.db == 0) return true;

  // AUTH and SELECT go out together; each read waits at most what is left of
  // connect_timeout.
  request_.clear();
  if (!settings.password.empty()) {
    if (settings.username.empty()) {
      request_.begin(2).arg("AUTH").arg(settings.password);
    } else {
      request_.begin(3).arg("AUTH").arg(settings.username).arg(settings.password);
    }
  }
  const std::string select = "SELECT " + std::to_string(settings.db);
  if (settings.db != 0) request_.begin(2).arg("SELECT").arg_int(settings.db);
  const bool ok = send(request_, failure);
  request_.clear();  // holds the password: do not keep it around
  if (!ok) return false;

  auto step = [&](std::string_view command) {
    if (!set_timeout(remaining(deadline))) {
      failure = io_failure(Stage::handshake, command, settings.connect_timeout, errno);
      return false;
    }
    void* raw_reply = nullptr;
    errno = 0;
    if (redisGetReply(context_.get(), &raw_reply) != REDIS_OK) {
      failure = io_failure(Stage::handshake, command, settings.connect_timeout, errno);
      return false;
    }
    ReplyPtr reply(static_cast<redisReply*>(raw_reply));
    if (reply->type == REDIS_REPLY_ERROR) {
      RawError raw;
      raw.stage = Stage::handshake;
      raw.text = std::string_view(reply->str, reply->len);
      raw.endpoint = endpoint_name_;
      raw.command = command;
      failure = map_error(raw).failure;
      broken_ = true;
      return false;
    }
    return true;
  };
  if (!settings.password.empty() && !step("AUTH")) return false;
  if (settings.db != 0 && !step(select)) return false;
  return true;
}

bool Connection::send(const Request& request, Failure& failure) {
  const auto data = request.data();
  if (redisAppendFormattedCommand(context_.get(), data.data(), data.size()) != REDIS_OK) {
    failure = io_failure(Stage::command, "", socket_timeout_, errno);
    return false;
  }
  return true;
}

ReplyPtr Connection::receive(Failure& failure, std::string_view command) {
  void* raw_reply = nullptr;
  errno = 0;
  if (redisGetReply(context_.get(), &raw_reply) != REDIS_OK) {
    failure = io_failure(Stage::command, command, socket_timeout_, errno);
    return nullptr;
  }
  return ReplyPtr(static_cast<redisReply*>(raw_reply));
}

Failure Connection::reply_failure(const redisReply& reply, std::string_view command) {
  RawError raw;
  raw.stage = Stage::command;
  raw.text = std::string_view(reply.str, reply.len);
  raw.endpoint = endpoint_name_;
  raw.command = command;
  auto mapped = map_error(raw);
  if (mapped.discard_connection) broken_ = true;
  return std::move(mapped.failure);
}

Failure Connection::io_failure(Stage stage, std::string_view command, std::chrono::milliseconds timeout,
                               int saved_errno) {
  broken_ = true;
  RawError raw;
  raw.stage = stage;
  raw.hiredis_err = context_->err != 0 ? context_->err : REDIS_ERR_IO;
  raw.sys_errno = saved_errno;
  raw.text = context_->errstr;
  raw.endpoint = endpoint_name_;
  raw.command = command;
  raw.timeout = timeout;
  return map_error(raw).failure;
}

bool Connection::alive() const noexcept {
  if (broken_) return false;
  char byte;
  const ssize_t n = ::recv(context_->fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT);
  if (n < 0) return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR;
  return false;  // 0: the peer closed; > 0: bytes nobody asked for
}

}  // namespace cachet::redis
