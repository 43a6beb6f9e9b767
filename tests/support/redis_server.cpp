// RedisServer: fork/exec of redis-server on a free loopback port. No GoogleTest
// here: cachet_bench starts its server through this file too (unique_prefix(),
// which needs GoogleTest, is in unique_prefix.cpp).
#include "support/redis_server.hpp"

#include <hiredis/hiredis.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "support/net.hpp"

namespace cachet::test {

namespace {

std::string find_redis_server() {
  if (const char* env = std::getenv("CACHET_REDIS_SERVER"); env && *env) return env;
  for (const char* p : {"/usr/bin/redis-server", "/usr/local/bin/redis-server", "/usr/sbin/redis-server"}) {
    if (::access(p, X_OK) == 0) return p;
  }
  return "";
}

using ContextPtr = std::unique_ptr<redisContext, decltype(&redisFree)>;
using ReplyPtr = std::unique_ptr<redisReply, decltype(&freeReplyObject)>;

void flatten(const redisReply* r, std::string& out) {
  switch (r->type) {
    case REDIS_REPLY_STRING:
    case REDIS_REPLY_STATUS:
      out.append(r->str, r->len);
      break;
    case REDIS_REPLY_ERROR:
      out += "(error) ";
      out.append(r->str, r->len);
      break;
    case REDIS_REPLY_INTEGER:
      out += std::to_string(r->integer);
      break;
    case REDIS_REPLY_NIL:
      out += "(nil)";
      break;
    case REDIS_REPLY_ARRAY:
      for (size_t i = 0; i < r->elements; ++i) {
        if (i) out += '\n';
        flatten(r->element[i], out);
      }
      break;
    default:
      out += "(unknown)";
  }
}

// A harness connection: TCP to `port`, or the unix socket when `socket_path` is set.
ContextPtr connect_to(int port, const std::string& socket_path, const std::string& password) {
  timeval tv{1, 0};
  ContextPtr c(socket_path.empty() ? redisConnectWithTimeout("127.0.0.1", port, tv)
                                   : redisConnectUnixWithTimeout(socket_path.c_str(), tv),
               &redisFree);
  if (!c || c->err) return ContextPtr(nullptr, &redisFree);
  redisSetTimeout(c.get(), timeval{5, 0});
  if (!password.empty()) {
    const char* argv[] = {"AUTH", password.c_str()};
    size_t lens[] = {4, password.size()};
    ReplyPtr r(static_cast<redisReply*>(redisCommandArgv(c.get(), 2, argv, lens)), &freeReplyObject);
    if (!r || r->type == REDIS_REPLY_ERROR) return ContextPtr(nullptr, &redisFree);
  }
  return c;
}

// True when the server behind `c` is the process `pid` (INFO's process_id):
// another server that took the port between free_loopback_port() and our
// bind must never be taken for ours (cachet_bench FLUSHALLs its server).
bool served_by(redisContext* c, pid_t pid) {
  ReplyPtr r(static_cast<redisReply*>(redisCommand(c, "INFO server")), &freeReplyObject);
  if (!r || r->type != REDIS_REPLY_STRING) return false;
  const std::string info(r->str, r->len);
  const std::string field = "\r\nprocess_id:" + std::to_string(pid) + "\r\n";
  return info.find(field) != std::string::npos;
}

}  // namespace

bool redis_server_available() { return !find_redis_server().empty(); }

bool skip_redis_tests_requested() {
  const char* v = std::getenv("CACHET_SKIP_REDIS_TESTS");
  return v && std::string(v) == "1";
}

RedisServer::RedisServer() : RedisServer(Options{}) {}

RedisServer::RedisServer(Options options) : options_(std::move(options)) {
  char tmpl[] = "/tmp/cachet-redis-XXXXXX";
  if (!::mkdtemp(tmpl)) throw std::runtime_error("RedisServer: mkdtemp failed");
  dir_ = tmpl;
  if (options_.unix_socket || options_.tls) socket_path_ = dir_ + "/redis.sock";
  port_ = options_.port;
  if (options_.start) start();
}

RedisServer::~RedisServer() {
  try {
    kill();
  } catch (...) {
  }
  std::string cmd = "rm -rf '" + dir_ + "'";
  if (std::system(cmd.c_str()) != 0) {
    // best effort
  }
}

std::string RedisServer::url() const {
  return (options_.tls ? "rediss://127.0.0.1:" : "redis://127.0.0.1:") + std::to_string(port_) + "/0";
}

void RedisServer::ContextDeleter::operator()(redisContext* c) const noexcept { redisFree(c); }

std::unique_ptr<redisContext, RedisServer::ContextDeleter> RedisServer::connect() const {
  // TLS servers: the harness's own channel is the (plaintext) unix socket.
  auto c = connect_to(port_, options_.tls ? socket_path_ : std::string(), options_.password);
  return std::unique_ptr<redisContext, ContextDeleter>(c.release());
}

bool RedisServer::try_start_once() {
  const std::string bin = find_redis_server();
  if (bin.empty()) throw std::runtime_error("redis-server not found");
  std::vector<std::string> args = {bin};
  if (!options_.config_file.empty()) args.push_back(options_.config_file);
  if (options_.sentinel) args.push_back("--sentinel");
  args.insert(args.end(), {"--port", std::to_string(options_.tls ? 0 : port_),
                                   "--bind", "127.0.0.1",
                                   "--save", "",
                                   "--appendonly", "no",
                                   "--daemonize", "no",
                                   "--dir", dir_,
                                   "--logfile", dir_ + "/redis.log"});
  if (!socket_path_.empty()) {
    args.insert(args.end(), {"--unixsocket", socket_path_, "--unixsocketperm", "700"});
  }
  if (options_.tls) {
    args.insert(args.end(), {"--tls-port", std::to_string(port_), "--tls-cert-file", options_.tls->cert_file,
                             "--tls-key-file", options_.tls->key_file, "--tls-ca-cert-file",
                             options_.tls->ca_cert_file, "--tls-auth-clients",
                             options_.tls->auth_clients ? "yes" : "no"});
  }
  args.insert(args.end(), options_.args.begin(), options_.args.end());

  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);

  const pid_t parent = ::getpid();
  pid_t pid = ::fork();
  if (pid < 0) throw std::runtime_error("RedisServer: fork failed");
  if (pid == 0) {
    // When the test process dies without running destructors (a sanitizer
    // abort, a crash), the server must not outlive it: it would keep ctest's
    // output pipe open and ctest would wait for it until the test's TIMEOUT.
    // So: killed with the forking thread (servers are started from the test's
    // main thread), and no inherited stdio (redis logs to --logfile).
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(127);
    const int devnull = ::open("/dev/null", O_RDWR);
    if (devnull >= 0) {
      ::dup2(devnull, 0);
      ::dup2(devnull, 1);
      ::dup2(devnull, 2);
      if (devnull > 2) ::close(devnull);
    }
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  pid_ = pid;
  paused_ = false;

  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (std::chrono::steady_clock::now() < deadline) {
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {  // died (port taken?)
      pid_ = -1;
      return false;
    }
    if (auto c = connect()) {
      ReplyPtr r(static_cast<redisReply*>(redisCommand(c.get(), "PING")), &freeReplyObject);
      const bool ready = (r && r->type == REDIS_REPLY_STATUS) ||
                         (r && r->type == REDIS_REPLY_ERROR && options_.ready_while_loading &&
                          std::string(r->str, r->len).rfind("LOADING", 0) == 0);
      if (ready) {
        if (served_by(c.get(), pid_)) return true;
        kill();  // someone else's server holds the port: ours cannot bind it
        return false;
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  kill();
  throw std::runtime_error("RedisServer: not ready within 10 s; log:\n" + log_tail());
}

void RedisServer::start() {
  if (running()) return;
  const bool fixed_port = port_ != 0;
  for (int attempt = 0; attempt < 5; ++attempt) {
    if (!fixed_port) port_ = free_loopback_port();
    if (try_start_once()) return;
    if (fixed_port) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  throw std::runtime_error("RedisServer: could not start on port " + std::to_string(port_) + "; log:\n" + log_tail());
}

void RedisServer::stop() {
  if (!running()) return;
  if (paused_) resume();
  ::kill(pid_, SIGTERM);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (std::chrono::steady_clock::now() < deadline) {
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  kill();
}

void RedisServer::kill() {
  if (!running()) return;
  ::kill(pid_, SIGKILL);
  int status = 0;
  ::waitpid(pid_, &status, 0);
  pid_ = -1;
  paused_ = false;
}

void RedisServer::pause() {
  if (running() && !paused_) {
    ::kill(pid_, SIGSTOP);
    paused_ = true;
  }
}

void RedisServer::resume() {
  if (running() && paused_) {
    ::kill(pid_, SIGCONT);
    paused_ = false;
  }
}

std::string RedisServer::command(const std::vector<std::string>& args) const {
  auto c = connect();
  if (!c) throw std::runtime_error("RedisServer::command: cannot connect to port " + std::to_string(port_));
  std::vector<const char*> argv;
  std::vector<size_t> lens;
  for (const auto& a : args) {
    argv.push_back(a.data());
    lens.push_back(a.size());
  }
  ReplyPtr r(static_cast<redisReply*>(redisCommandArgv(c.get(), static_cast<int>(argv.size()), argv.data(), lens.data())),
             &freeReplyObject);
  if (!r) throw std::runtime_error("RedisServer::command: no reply");
  std::string out;
  flatten(r.get(), out);
  return out;
}

long long RedisServer::dbsize(int db) const {
  auto c = connect();
  if (!c) throw std::runtime_error("RedisServer::dbsize: cannot connect");
  ReplyPtr sel(static_cast<redisReply*>(redisCommand(c.get(), "SELECT %d", db)), &freeReplyObject);
  ReplyPtr r(static_cast<redisReply*>(redisCommand(c.get(), "DBSIZE")), &freeReplyObject);
  if (!r || r->type != REDIS_REPLY_INTEGER) throw std::runtime_error("RedisServer::dbsize: bad reply");
  return r->integer;
}

std::string RedisServer::log_tail() const {
  std::ifstream in(dir_ + "/redis.log");
  std::stringstream ss;
  ss << in.rdbuf();
  std::string s = ss.str();
  return s.size() > 2000 ? s.substr(s.size() - 2000) : s;
}

std::unique_ptr<RedisServer> loading_server(const std::string& prefix, int keys) {
  auto loading = [] {
    RedisServer::Options so;
    so.args = {"--key-load-delay", "1500", "--loading-process-events-interval-bytes", "1024"};
    so.start = false;
    so.ready_while_loading = true;
    return std::make_unique<RedisServer>(so);
  }();
  {
    RedisServer source;
    std::vector<std::string> mset = {"MSET"};
    for (int i = 0; i < keys; ++i) {
      mset.push_back(prefix + "load:" + std::to_string(i));
      mset.push_back("v" + std::to_string(i));
    }
    if (source.command(mset) != "OK" || source.command({"SAVE"}) != "OK") {
      throw std::runtime_error("loading_server: could not write and save the dataset");
    }
    std::filesystem::copy_file(source.dir() + "/dump.rdb", loading->dir() + "/dump.rdb");
  }
  loading->start();
  return loading;
}

}  // namespace cachet::test
