#include "redis/connection.hpp"

#include <hiredis/hiredis.h>

#include <algorithm>
#include <cstring>

namespace cachet::redis {

namespace {

net::SocketOptions socket_options(const ConnectionSettings& s) {
  net::SocketOptions o;
  o.keepalive = s.keepalive;
  o.io_timeout = s.socket_timeout;
  return o;
}

}  // namespace

void ReplyDeleter::operator()(redisReply* r) const noexcept { freeReplyObject(r); }
void Connection::ReaderDeleter::operator()(redisReader* r) const noexcept { redisReaderFree(r); }

Connection::Connection(std::unique_ptr<net::Stream> stream, std::chrono::milliseconds socket_timeout)
    : stream_(std::move(stream)), reader_(redisReaderCreate()), socket_timeout_(socket_timeout) {}

Connection::~Connection() = default;

std::unique_ptr<Connection> Connection::open(const Endpoint& endpoint, const ConnectionSettings& settings,
                                             Failure& failure) {
  const net::Wait wait = net::Wait::until(net::Clock::now() + settings.connect_timeout);
  net::NetError error;
  auto stream = net::Stream::open(endpoint, socket_options(settings), settings.tls.get(), wait, error);
  if (!stream) {
    RawError raw;
    raw.stage = Stage::connect;
    raw.net = error.cause;
    raw.sys_errno = error.sys_errno;
    raw.text = error.detail;
    raw.endpoint = error.endpoint;
    raw.timeout = settings.connect_timeout;
    failure = map_error(raw).failure;
    return nullptr;
  }
  std::unique_ptr<Connection> conn(new Connection(std::move(stream), settings.socket_timeout));
  if (!conn->reader_) {
    failure = {ErrorKind::connection, "out of memory creating a reply reader (" + conn->endpoint_name() + ")"};
    return nullptr;
  }
  if (!conn->handshake(settings, wait, failure)) return nullptr;
  if (settings.setup && !conn->run_setup(*settings.setup, wait, settings.connect_timeout, failure)) return nullptr;
  return conn;
}

bool Connection::handshake(const ConnectionSettings& settings, const net::Wait& wait, Failure& failure) {
  if (settings.password.empty() && settings.db == 0) return true;

  // AUTH and SELECT go out together, within what is left of connect_timeout.
  request_.clear();
  if (!settings.password.empty()) {
    if (settings.username.empty()) {
      request_.begin(2).arg("AUTH").arg(settings.password);
    } else {
      request_.begin(3).arg("AUTH").arg(settings.username).arg(settings.password);
    }
  }
  if (settings.db != 0) request_.begin(2).arg("SELECT").arg_int(settings.db);
  net::NetError error;
  const auto data = request_.data();
  const bool sent = stream_->write_all(data.data(), data.size(), wait, error);
  request_.clear();  // holds the password: do not keep it around
  if (!sent) {
    failure = failure_of(Stage::handshake, "AUTH", settings.connect_timeout, std::move(error), 0);
    return false;
  }

  auto step = [&](std::string_view command) {
    int reader_error = 0;
    ReplyPtr reply = read_reply(wait, error, reader_error);
    if (!reply) {
      failure = failure_of(Stage::handshake, command, settings.connect_timeout, std::move(error), reader_error);
      return false;
    }
    if (reply->type == REDIS_REPLY_ERROR) {
      RawError raw;
      raw.stage = Stage::handshake;
      raw.text = std::string_view(reply->str, reply->len);
      raw.endpoint = endpoint_name();
      raw.command = command;
      failure = map_error(raw).failure;
      broken_ = true;
      return false;
    }
    return true;
  };
  if (!settings.password.empty() && !step("AUTH")) return false;
  if (settings.db != 0 && !step("SELECT " + std::to_string(settings.db))) return false;
  return true;
}

// CLIENT ID, then the setup's commands, in one write. An error reply to a
// setup command is reported to the setup (it decides what that means); only
// a transport failure fails the connection.
bool Connection::run_setup(ConnectionSetup& setup, const net::Wait& wait, std::chrono::milliseconds timeout,
                           Failure& failure) {
  std::uint64_t generation = 0;
  const auto commands = setup.commands(generation);
  if (generation == 0) return true;
  request_.clear();
  request_.begin(2).arg("CLIENT").arg("ID");
  for (const auto& command : commands) {
    request_.begin(command.size());
    for (const auto& a : command) request_.arg(a);
  }
  net::NetError error;
  const auto data = request_.data();
  const bool sent = stream_->write_all(data.data(), data.size(), wait, error);
  request_.clear();
  if (!sent) {
    failure = failure_of(Stage::handshake, "CLIENT ID", timeout, std::move(error), 0);
    return false;
  }
  std::string first_error;
  for (std::size_t i = 0; i <= commands.size(); ++i) {
    int reader_error = 0;
    ReplyPtr reply = read_reply(wait, error, reader_error);
    const std::string name = i == 0 ? std::string("CLIENT ID") : commands[i - 1].front();
    if (!reply) {
      failure = failure_of(Stage::handshake, name, timeout, std::move(error), reader_error);
      return false;
    }
    if (i == 0 && reply->type == REDIS_REPLY_INTEGER) client_id_ = reply->integer;
    if (reply->type == REDIS_REPLY_ERROR && first_error.empty()) {
      first_error = name + ": " + std::string(reply->str, reply->len);
    }
  }
  setup_generation_ = generation;
  setup.established(generation, client_id_, first_error);
  return true;
}

ReplyPtr Connection::receive_until(const net::Wait& wait, bool& timed_out, Failure& failure) {
  timed_out = false;
  net::NetError error;
  int reader_error = 0;
  ReplyPtr reply = read_reply(wait, error, reader_error);
  if (reply) return reply;
  if (reader_error == 0 && error.cause == net::Cause::timeout) {
    timed_out = true;  // nothing arrived: not a failure for a subscriber
    return nullptr;
  }
  failure = failure_of(Stage::command, "(reading pushed messages)", socket_timeout_, std::move(error), reader_error);
  return nullptr;
}

bool Connection::send(const Request& request, Failure& failure) {
  const auto data = request.data();
  net::NetError error;
  if (stream_->write_all(data.data(), data.size(), net::Wait::per_wait(), error)) return true;
  failure = failure_of(Stage::command, "", socket_timeout_, std::move(error), 0);
  return false;
}

ReplyPtr Connection::read_reply(const net::Wait& wait, net::NetError& error, int& reader_error) {
  for (;;) {
    void* reply = nullptr;
    if (redisReaderGetReply(reader_.get(), &reply) != REDIS_OK) {
      reader_error = reader_->err;
      return nullptr;
    }
    if (reply != nullptr) {
      answered_ = true;
      return ReplyPtr(static_cast<redisReply*>(reply));
    }
    const std::size_t n = stream_->read_some(buf_.data(), buf_.size(), wait, error);
    if (n == 0) return nullptr;
    if (first_len_ < sizeof first_bytes_) {
      const std::size_t keep = std::min(sizeof first_bytes_ - first_len_, n);
      std::memcpy(first_bytes_ + first_len_, buf_.data(), keep);
      first_len_ += keep;
    }
    if (redisReaderFeed(reader_.get(), buf_.data(), n) != REDIS_OK) {
      reader_error = reader_->err;
      return nullptr;
    }
  }
}

ReplyPtr Connection::receive(Failure& failure, std::string_view command) {
  net::NetError error;
  int reader_error = 0;
  ReplyPtr reply = read_reply(net::Wait::per_wait(), error, reader_error);
  if (!reply) failure = failure_of(Stage::command, command, socket_timeout_, std::move(error), reader_error);
  return reply;
}

Failure Connection::reply_failure(const redisReply& reply, std::string_view command) {
  RawError raw;
  raw.stage = Stage::command;
  raw.text = std::string_view(reply.str, reply.len);
  raw.endpoint = endpoint_name();
  raw.command = command;
  auto mapped = map_error(raw);
  if (mapped.discard_connection) broken_ = true;
  return std::move(mapped.failure);
}

Failure Connection::failure_of(Stage stage, std::string_view command, std::chrono::milliseconds timeout,
                               net::NetError error, int reader_error) {
  broken_ = true;
  // A plaintext connection that never got a reply may have reached a TLS
  // port: the server resets the connection (Redis) or answers with a TLS
  // record. Ask it once, in TLS, on a second connection.
  if (!stream_->is_tls() && !answered_) {
    const bool tls_bytes = reader_error == REDIS_ERR_PROTOCOL && net::looks_like_tls(first_bytes_, first_len_);
    const bool hung_up = error.cause == net::Cause::reset || error.cause == net::Cause::closed;
    if (tls_bytes || (hung_up && stream_->peer_speaks_tls(net::Wait::until(net::Clock::now() + timeout)))) {
      error = net::make_error(net::Cause::tls_peer_speaks_tls,
                              "TLS server on a plaintext port: the server speaks TLS (use a rediss scheme: "
                              "rediss://, rediss+cluster://, rediss+sentinel://)",
                              0, endpoint_name());
      reader_error = 0;
    }
  }
  RawError raw;
  raw.stage = stage;
  raw.hiredis_err = reader_error;
  raw.net = reader_error != 0 ? net::Cause::none : error.cause;
  raw.sys_errno = error.sys_errno;
  raw.text = reader_error != 0 ? std::string_view(reader_->errstr) : std::string_view(error.detail);
  raw.endpoint = endpoint_name();
  raw.command = command;
  raw.timeout = timeout;
  return map_error(raw).failure;
}

bool Connection::alive() noexcept { return !broken_ && stream_->idle_and_open(); }

}  // namespace cachet::redis
