// Test harness: a real redis-server on a free loopback port, started and owned
// by the test. Never touches whatever may listen on 6379.
//
//   cachet::test::RedisServer server;                 // starts, waits for PING
//   auto opts = cachet::RedisOptions::from_url(server.url());
//   server.pause(); server.resume();                  // SIGSTOP / SIGCONT
//   server.restart();                                 // same port
//   server.command({"CONFIG", "SET", "maxmemory", "1mb"});
//
// When redis-server is not installed, REQUIRE_REDIS() fails the test unless
// CACHET_SKIP_REDIS_TESTS=1 is set, in which case it skips.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

struct redisContext;

namespace cachet::test {

/// True when a redis-server binary can be found.
bool redis_server_available();

/// Fails (or skips, with CACHET_SKIP_REDIS_TESTS=1) the current test when
/// redis-server is missing. Use at the top of a test or in SetUp().
#define REQUIRE_REDIS()                                                                  \
  do {                                                                                    \
    if (!::cachet::test::redis_server_available()) {                                      \
      if (::cachet::test::skip_redis_tests_requested()) GTEST_SKIP() << "redis-server missing (CACHET_SKIP_REDIS_TESTS=1)"; \
      FAIL() << "redis-server not found; install it (./tests/run does) or set CACHET_SKIP_REDIS_TESTS=1"; \
    }                                                                                     \
  } while (0)

bool skip_redis_tests_requested();

/// A unique key prefix for one test: "t:<test suite>.<test name>:<pid>.<counter>:".
/// Defined in unique_prefix.cpp (it needs GoogleTest; the rest does not).
std::string unique_prefix();

class RedisServer {
 public:
  /// A TLS-only server: --port 0 --tls-port <port> with these files.
  struct TlsFiles {
    std::string cert_file;
    std::string key_file;
    std::string ca_cert_file;   ///< CA for client certificates
    bool auth_clients = false;  ///< --tls-auth-clients yes|no
  };
  struct Options {
    /// Extra command-line arguments, e.g. {"--requirepass", "s3cret"}.
    std::vector<std::string> args;
    /// Also listen on a unix socket in the server's temporary directory.
    bool unix_socket = false;
    /// Port to use; 0 = pick a free loopback port.
    int port = 0;
    /// Password the harness uses for its own commands (readiness PING, command()).
    std::string password;
    /// Start immediately (default); false = construct stopped, call start().
    bool start = true;
    /// start() also returns when the server answers PING with LOADING (it is
    /// still loading its dataset), instead of waiting until it has loaded.
    bool ready_while_loading = false;
    /// A configuration file passed before every other argument (a sentinel
    /// needs one it can rewrite). Default none.
    std::string config_file;
    /// Run as a sentinel (--sentinel; needs config_file).
    bool sentinel = false;
    /// Serve TLS only (port() is then the TLS port). The harness then talks to
    /// the server over a unix socket (always added), in plaintext.
    std::optional<TlsFiles> tls;
  };

  RedisServer();
  explicit RedisServer(Options options);
  ~RedisServer();
  RedisServer(const RedisServer&) = delete;
  RedisServer& operator=(const RedisServer&) = delete;

  int port() const { return port_; }
  /// Path of the unix socket ("" unless Options::unix_socket).
  const std::string& unix_socket() const { return socket_path_; }
  /// redis://127.0.0.1:<port>/0 (no credentials); rediss:// for a TLS server.
  std::string url() const;
  /// The temporary directory holding the server's log and socket.
  const std::string& dir() const { return dir_; }
  pid_t pid() const { return pid_; }
  bool running() const { return pid_ > 0; }

  /// Starts the server (same port as before) and waits until it answers PING
  /// and INFO names its process id as the one started (at most 10 s; throws
  /// std::runtime_error otherwise, with the log's tail).
  /// A server given a dump.rdb in dir() before start() loads it.
  void start();
  /// SIGTERM, wait; SIGKILL after 5 s.
  void stop();
  /// SIGKILL, wait.
  void kill();
  void restart() { stop(); start(); }
  /// SIGSTOP: the server hangs, connections stay open.
  void pause();
  /// SIGCONT.
  void resume();

  /// Runs one command over a fresh connection (with the harness password) and
  /// returns the reply flattened to text: strings as is, integers in decimal,
  /// nil as "(nil)", arrays joined by '\n', errors prefixed by "ERR:" ... exactly
  /// as the server sent them ("(error) <message>"). Throws when it cannot connect.
  std::string command(const std::vector<std::string>& argv) const;

  /// Number of keys in db `db` (DBSIZE).
  long long dbsize(int db = 0) const;

  /// The harness password (e.g. after CONFIG SET requirepass, update it here).
  void set_password(std::string password) { options_.password = std::move(password); }

 private:
  Options options_;
  int port_ = 0;
  pid_t pid_ = -1;
  bool paused_ = false;
  std::string dir_;
  std::string socket_path_;
  std::string log_tail() const;
  struct ContextDeleter {
    void operator()(redisContext* c) const noexcept;
  };
  std::unique_ptr<redisContext, ContextDeleter> connect() const;
  bool try_start_once();
};

/// A server that is still loading a saved dataset when this returns: `keys`
/// keys "<prefix>load:<i>" = "v<i>" (written and SAVEd by a short-lived second
/// server), loaded at 1.5 ms a key through Redis's hidden key-load-delay
/// config, with events processed every 1 KiB of the file so that it answers
/// "-LOADING ..." meanwhile: about keys x 1.5 ms of LOADING (3 s by default).
std::unique_ptr<RedisServer> loading_server(const std::string& prefix, int keys = 2000);

}  // namespace cachet::test
