// bench/raw_tls.hpp — the TLS baseline: OpenSSL and hiredis' reply reader used
// directly, no cachet. What a careful hand-written TLS client does: one
// blocking socket with TCP_NODELAY, one SSL session verifying the server
// against the given CA, commands formatted with hiredis' argv formatter,
// replies parsed by a redisReader fed from SSL_read.
#pragma once

#include <hiredis/hiredis.h>
#include <openssl/ssl.h>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace cachet::bench {

class RawTls {
 public:
  /// Connects to 127.0.0.1:port, runs the TLS handshake trusting `ca_file`
  /// and, with a password, AUTH (throws std::runtime_error on failure).
  RawTls(int port, const std::string& ca_file, const std::string& password = {});
  ~RawTls();
  RawTls(const RawTls&) = delete;
  RawTls& operator=(const RawTls&) = delete;

  std::optional<std::string> get(std::string_view key);
  void set(std::string_view key, std::string_view value);
  /// One MGET of every key; returns the hits.
  std::size_t mget(const std::vector<std::string_view>& keys);

 private:
  void send(const std::vector<std::string_view>& argv);
  redisReply* read_reply();  // owned by the caller (freeReplyObject)

  int fd_ = -1;
  SSL_CTX* ctx_ = nullptr;
  SSL* ssl_ = nullptr;
  redisReader* reader_ = nullptr;
  std::vector<const char*> argv_;
  std::vector<std::size_t> argvlen_;
  char buf_[16 * 1024];
};

}  // namespace cachet::bench
