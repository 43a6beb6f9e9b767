// bench/raw_redis.hpp — the Redis baselines: plain hiredis, no cachet.
//
// What a careful hand-written client does: one redisContext, argv commands
// (binary-safe, no format parsing), the reply freed right away, and for a get
// the value copied into a std::string (the caller has to have it somewhere).
#pragma once

#include <hiredis/hiredis.h>

#include <cstddef>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace cachet::bench {

struct ReplyDeleter {
  void operator()(redisReply* r) const { freeReplyObject(r); }
};
using ReplyPtr = std::unique_ptr<redisReply, ReplyDeleter>;

class RawRedis {
 public:
  /// Connects to host:port (throws std::runtime_error when it cannot).
  RawRedis(const std::string& host, int port);
  ~RawRedis();
  RawRedis(const RawRedis&) = delete;
  RawRedis& operator=(const RawRedis&) = delete;

  /// GET key; nullopt on nil. Throws on an error reply or I/O error.
  std::optional<std::string> get(std::string_view key);
  /// SET key value.
  void set(std::string_view key, std::string_view value);
  /// GET of every key in one pipelined round trip; returns the hits.
  std::size_t pipelined_get(const std::vector<std::string_view>& keys, std::vector<std::optional<std::string>>& out);
  /// One MGET of every key; returns the hits.
  std::size_t mget(const std::vector<std::string_view>& keys, std::vector<std::optional<std::string>>& out);
  /// SET of every pair in one pipelined round trip.
  void pipelined_set(const std::vector<std::pair<std::string_view, std::string_view>>& items);
  /// One MSET of every pair.
  void mset(const std::vector<std::pair<std::string_view, std::string_view>>& items);

  /// Any command (for setup); throws on an error reply.
  ReplyPtr command(const std::vector<std::string_view>& argv);
  /// INFO commandstats as {command name -> calls}.
  std::map<std::string, long long> command_calls();

 private:
  ReplyPtr read_reply();
  [[noreturn]] void fail(const char* what);
  redisContext* ctx_ = nullptr;
  std::vector<const char*> argv_;
  std::vector<std::size_t> argvlen_;
};

}  // namespace cachet::bench
