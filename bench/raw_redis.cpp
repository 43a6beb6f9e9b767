#include "raw_redis.hpp"

#include <sstream>
#include <stdexcept>

namespace cachet::bench {

RawRedis::RawRedis(const std::string& host, int port) {
  timeval tv{2, 0};
  ctx_ = redisConnectWithTimeout(host.c_str(), port, tv);
  if (ctx_ == nullptr || ctx_->err) {
    std::string msg = "raw hiredis: cannot connect to " + host + ":" + std::to_string(port) +
                      (ctx_ ? std::string(": ") + ctx_->errstr : std::string());
    if (ctx_) redisFree(ctx_);
    throw std::runtime_error(msg);
  }
  redisSetTimeout(ctx_, timeval{5, 0});
}

RawRedis::~RawRedis() { redisFree(ctx_); }

void RawRedis::fail(const char* what) {
  throw std::runtime_error(std::string("raw hiredis: ") + what + ": " + (ctx_->err ? ctx_->errstr : "error reply"));
}

ReplyPtr RawRedis::read_reply() {
  void* r = nullptr;
  if (redisGetReply(ctx_, &r) != REDIS_OK || r == nullptr) fail("read");
  ReplyPtr reply(static_cast<redisReply*>(r));
  if (reply->type == REDIS_REPLY_ERROR) throw std::runtime_error("raw hiredis: error reply: " + std::string(reply->str, reply->len));
  return reply;
}

std::optional<std::string> RawRedis::get(std::string_view key) {
  const char* argv[2] = {"GET", key.data()};
  const std::size_t len[2] = {3, key.size()};
  ReplyPtr reply(static_cast<redisReply*>(redisCommandArgv(ctx_, 2, argv, len)));
  if (!reply) fail("GET");
  if (reply->type == REDIS_REPLY_STRING) return std::string(reply->str, reply->len);
  if (reply->type == REDIS_REPLY_NIL) return std::nullopt;
  fail("GET: unexpected reply");
}

void RawRedis::set(std::string_view key, std::string_view value) {
  const char* argv[3] = {"SET", key.data(), value.data()};
  const std::size_t len[3] = {3, key.size(), value.size()};
  ReplyPtr reply(static_cast<redisReply*>(redisCommandArgv(ctx_, 3, argv, len)));
  if (!reply || reply->type != REDIS_REPLY_STATUS) fail("SET");
}

std::size_t RawRedis::pipelined_get(const std::vector<std::string_view>& keys,
                                    std::vector<std::optional<std::string>>& out) {
  for (auto key : keys) {
    const char* argv[2] = {"GET", key.data()};
    const std::size_t len[2] = {3, key.size()};
    if (redisAppendCommandArgv(ctx_, 2, argv, len) != REDIS_OK) fail("append GET");
  }
  out.clear();
  std::size_t hits = 0;
  for (std::size_t i = 0; i < keys.size(); ++i) {
    ReplyPtr reply = read_reply();
    if (reply->type == REDIS_REPLY_STRING) {
      out.emplace_back(std::in_place, reply->str, reply->len);
      ++hits;
    } else {
      out.emplace_back();
    }
  }
  return hits;
}

std::size_t RawRedis::mget(const std::vector<std::string_view>& keys, std::vector<std::optional<std::string>>& out) {
  argv_.assign(1, "MGET");
  argvlen_.assign(1, 4);
  for (auto key : keys) {
    argv_.push_back(key.data());
    argvlen_.push_back(key.size());
  }
  ReplyPtr reply(static_cast<redisReply*>(
      redisCommandArgv(ctx_, static_cast<int>(argv_.size()), argv_.data(), argvlen_.data())));
  if (!reply || reply->type != REDIS_REPLY_ARRAY) fail("MGET");
  out.clear();
  std::size_t hits = 0;
  for (std::size_t i = 0; i < reply->elements; ++i) {
    const redisReply* e = reply->element[i];
    if (e->type == REDIS_REPLY_STRING) {
      out.emplace_back(std::in_place, e->str, e->len);
      ++hits;
    } else {
      out.emplace_back();
    }
  }
  return hits;
}

void RawRedis::pipelined_set(const std::vector<std::pair<std::string_view, std::string_view>>& items) {
  for (const auto& [key, value] : items) {
    const char* argv[3] = {"SET", key.data(), value.data()};
    const std::size_t len[3] = {3, key.size(), value.size()};
    if (redisAppendCommandArgv(ctx_, 3, argv, len) != REDIS_OK) fail("append SET");
  }
  for (std::size_t i = 0; i < items.size(); ++i) read_reply();
}

void RawRedis::mset(const std::vector<std::pair<std::string_view, std::string_view>>& items) {
  argv_.assign(1, "MSET");
  argvlen_.assign(1, 4);
  for (const auto& [key, value] : items) {
    argv_.push_back(key.data());
    argvlen_.push_back(key.size());
    argv_.push_back(value.data());
    argvlen_.push_back(value.size());
  }
  ReplyPtr reply(static_cast<redisReply*>(
      redisCommandArgv(ctx_, static_cast<int>(argv_.size()), argv_.data(), argvlen_.data())));
  if (!reply || reply->type != REDIS_REPLY_STATUS) fail("MSET");
}

ReplyPtr RawRedis::command(const std::vector<std::string_view>& args) {
  std::vector<const char*> argv;
  std::vector<std::size_t> len;
  for (auto a : args) {
    argv.push_back(a.data());
    len.push_back(a.size());
  }
  ReplyPtr reply(static_cast<redisReply*>(redisCommandArgv(ctx_, static_cast<int>(argv.size()), argv.data(), len.data())));
  if (!reply) fail("command");
  if (reply->type == REDIS_REPLY_ERROR) throw std::runtime_error("raw hiredis: error reply: " + std::string(reply->str, reply->len));
  return reply;
}

std::map<std::string, long long> RawRedis::command_calls() {
  ReplyPtr reply = command({"INFO", "commandstats"});
  std::map<std::string, long long> calls;
  std::istringstream in(std::string(reply->str, reply->len));
  std::string line;
  // Lines look like: cmdstat_get:calls=12,usec=34,usec_per_call=2.83,...
  while (std::getline(in, line)) {
    const auto colon = line.find(':');
    if (line.rfind("cmdstat_", 0) != 0 || colon == std::string::npos) continue;
    const auto eq = line.find("calls=", colon);
    if (eq == std::string::npos) continue;
    calls[line.substr(8, colon - 8)] = std::stoll(line.substr(eq + 6));
  }
  return calls;
}

}  // namespace cachet::bench
