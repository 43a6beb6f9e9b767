#include "raw_tls.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <stdexcept>

namespace cachet::bench {

namespace {

[[noreturn]] void fail(const std::string& what) { throw std::runtime_error("raw TLS client: " + what); }

}  // namespace

RawTls::RawTls(int port, const std::string& ca_file, const std::string& password) {
  fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd_ < 0) fail("socket");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) fail("connect");
  int one = 1;
  ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  ctx_ = SSL_CTX_new(TLS_client_method());
  if (ctx_ == nullptr || SSL_CTX_load_verify_locations(ctx_, ca_file.c_str(), nullptr) != 1) fail("CA file");
  SSL_CTX_set_verify(ctx_, SSL_VERIFY_PEER, nullptr);
  SSL_CTX_set_read_ahead(ctx_, 1);  // as cachet does: fewer read calls per reply
  ssl_ = SSL_new(ctx_);
  SSL_set_fd(ssl_, fd_);
  SSL_set_tlsext_host_name(ssl_, "localhost");
  SSL_set1_host(ssl_, "localhost");
  if (SSL_connect(ssl_) != 1) fail("handshake");
  reader_ = redisReaderCreate();
  if (!password.empty()) {
    send({"AUTH", password});
    freeReplyObject(read_reply());
  }
}

RawTls::~RawTls() {
  if (reader_ != nullptr) redisReaderFree(reader_);
  if (ssl_ != nullptr) SSL_free(ssl_);
  if (ctx_ != nullptr) SSL_CTX_free(ctx_);
  if (fd_ >= 0) ::close(fd_);
}

void RawTls::send(const std::vector<std::string_view>& argv) {
  argv_.clear();
  argvlen_.clear();
  for (auto a : argv) {
    argv_.push_back(a.data());
    argvlen_.push_back(a.size());
  }
  char* cmd = nullptr;
  const long long len =
      redisFormatCommandArgv(&cmd, static_cast<int>(argv_.size()), argv_.data(), argvlen_.data());
  if (len < 0) fail("format");
  const int n = SSL_write(ssl_, cmd, static_cast<int>(len));
  redisFreeCommand(cmd);
  if (n != len) fail("write");
}

redisReply* RawTls::read_reply() {
  void* reply = nullptr;
  for (;;) {
    if (redisReaderGetReply(reader_, &reply) != REDIS_OK) fail("protocol");
    if (reply != nullptr) return static_cast<redisReply*>(reply);
    const int n = SSL_read(ssl_, buf_, sizeof buf_);
    if (n <= 0) fail("read");
    redisReaderFeed(reader_, buf_, static_cast<std::size_t>(n));
  }
}

std::optional<std::string> RawTls::get(std::string_view key) {
  send({"GET", key});
  redisReply* r = read_reply();
  std::optional<std::string> out;
  if (r->type == REDIS_REPLY_STRING) out.emplace(r->str, r->len);
  freeReplyObject(r);
  return out;
}

void RawTls::set(std::string_view key, std::string_view value) {
  send({"SET", key, value});
  freeReplyObject(read_reply());
}

std::size_t RawTls::mget(const std::vector<std::string_view>& keys) {
  std::vector<std::string_view> argv;
  argv.reserve(keys.size() + 1);
  argv.push_back("MGET");
  argv.insert(argv.end(), keys.begin(), keys.end());
  send(argv);
  redisReply* r = read_reply();
  std::size_t hits = 0;
  for (std::size_t i = 0; i < r->elements; ++i) hits += r->element[i]->type == REDIS_REPLY_STRING ? 1 : 0;
  freeReplyObject(r);
  return hits;
}

}  // namespace cachet::bench
