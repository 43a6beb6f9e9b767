// The `cachet` executable, run as an operator would: a controlled environment
// (nothing inherited but PATH), exit codes 0 / 1 / 2, and what it prints —
// the configuration (redacted), the backend picked, the reason, the probe time.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <map>
#include <string>
#include <vector>

#include "cachet/config.hpp"
#include "support/net.hpp"
#include "support/redis_server.hpp"
#include "support/tls_certs.hpp"

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using Env = std::map<std::string, std::string>;

namespace {

struct RunResult {
  int exit_code = -1;  // -1: killed by a signal
  std::string out;
  std::string err;
  std::chrono::milliseconds elapsed{0};
};

// Runs the CLI with exactly `env` (plus PATH) and `args`; kills it after 30 s.
RunResult run_cli(const std::vector<std::string>& args, const Env& env) {
#ifdef CACHET_CLI_PATH
  const std::string binary = CACHET_CLI_PATH;
#else
  const std::string binary;
#endif
  std::vector<std::string> argv_s = {binary};
  argv_s.insert(argv_s.end(), args.begin(), args.end());
  std::vector<std::string> env_s;
  if (const char* path = std::getenv("PATH")) env_s.push_back(std::string("PATH=") + path);
  for (const auto& [k, v] : env) env_s.push_back(k + "=" + v);
  std::vector<char*> argv, envp;
  for (auto& a : argv_s) argv.push_back(a.data());
  argv.push_back(nullptr);
  for (auto& e : env_s) envp.push_back(e.data());
  envp.push_back(nullptr);

  int out_pipe[2], err_pipe[2];
  if (::pipe(out_pipe) != 0 || ::pipe(err_pipe) != 0) throw std::runtime_error("pipe failed");
  const auto start = Clock::now();
  const pid_t pid = ::fork();
  if (pid < 0) throw std::runtime_error("fork failed");
  if (pid == 0) {
    ::dup2(out_pipe[1], STDOUT_FILENO);
    ::dup2(err_pipe[1], STDERR_FILENO);
    ::close(out_pipe[0]);
    ::close(out_pipe[1]);
    ::close(err_pipe[0]);
    ::close(err_pipe[1]);
    ::execve(binary.c_str(), argv.data(), envp.data());
    ::_exit(127);
  }
  ::close(out_pipe[1]);
  ::close(err_pipe[1]);

  RunResult r;
  pollfd fds[2] = {{out_pipe[0], POLLIN, 0}, {err_pipe[0], POLLIN, 0}};
  std::string* sinks[2] = {&r.out, &r.err};
  int open_fds = 2;
  bool killed = false;
  while (open_fds > 0) {
    if (!killed && Clock::now() - start > 30s) {
      ::kill(pid, SIGKILL);
      killed = true;
    }
    if (::poll(fds, 2, 200) < 0) continue;
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || (fds[i].revents & (POLLIN | POLLHUP | POLLERR)) == 0) continue;
      char buf[4096];
      const ssize_t n = ::read(fds[i].fd, buf, sizeof buf);
      if (n > 0) {
        sinks[i]->append(buf, static_cast<std::size_t>(n));
      } else {
        ::close(fds[i].fd);
        fds[i].fd = -1;
        --open_fds;
      }
    }
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  r.elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

std::string show(const RunResult& r) {
  return "exit " + std::to_string(r.exit_code) + "\n--- stdout\n" + r.out + "--- stderr\n" + r.err;
}

class Cli : public ::testing::Test {
 protected:
  void SetUp() override {
#ifndef CACHET_CLI_PATH
    GTEST_SKIP() << "the cachet CLI is not built (CACHET_BUILD_CLI=OFF)";
#endif
  }
};

// Short timeouts keep the failure cases quick.
Env redis_env(const std::string& url, Env extra = {}) {
  Env e = {{"CACHE_TYPE", "redis"},
           {"REDIS_URL", url},
           {"CACHE_FALLBACK", "startup"},
           {"CACHE_REDIS_CONNECT_TIMEOUT", "200"},
           {"CACHE_REDIS_SOCKET_TIMEOUT", "300"}};
  for (auto& [k, v] : extra) e[k] = v;
  return e;
}

}  // namespace

TEST_F(Cli, Help) {
  const auto r = run_cli({"--help"}, {});
  EXPECT_EQ(r.exit_code, 0) << show(r);
  EXPECT_TRUE(contains(r.out, "Usage: cachet <command>")) << show(r);
  EXPECT_TRUE(contains(r.out, "probe")) << show(r);
  EXPECT_TRUE(contains(r.out, "Exit status")) << show(r);
  EXPECT_TRUE(contains(r.out, "docs/deployment.md")) << show(r);
  EXPECT_EQ(run_cli({"-h"}, {}).exit_code, 0);
}

// The key list in --help comes from the table of keys, so it names every key
// CacheConfig reads, with its default; `cachet <command> --help` prints it too.
TEST_F(Cli, HelpListsEveryConfigurationKey) {
  const auto r = run_cli({"--help"}, {});
  ASSERT_EQ(r.exit_code, 0) << show(r);
  for (const auto& key : cachet::config_keys()) {
    EXPECT_TRUE(contains(r.out, "  " + key.name + "  ")) << key.name << "\n" << show(r);
    EXPECT_TRUE(contains(r.out, "default: " + key.default_value + "\n")) << key.name << "\n" << show(r);
  }
  for (const char* command : {"probe", "config"}) {
    const auto h = run_cli({command, "--help"}, {{"CACHE_TYPE", "nope"}});  // help does not read the environment
    EXPECT_EQ(h.exit_code, 0) << show(h);
    EXPECT_EQ(h.out, r.out);
  }
}

TEST_F(Cli, BadUsageExitsTwo) {
  auto r = run_cli({}, {});
  EXPECT_EQ(r.exit_code, 2) << show(r);
  EXPECT_TRUE(contains(r.err, "Usage: cachet")) << show(r);
  r = run_cli({"frobnicate"}, {});
  EXPECT_EQ(r.exit_code, 2) << show(r);
  EXPECT_TRUE(contains(r.err, "unknown command 'frobnicate'")) << show(r);
  r = run_cli({"probe", "--now"}, {});
  EXPECT_EQ(r.exit_code, 2) << show(r);
}

TEST_F(Cli, Version) {
  const auto r = run_cli({"--version"}, {});
  EXPECT_EQ(r.exit_code, 0) << show(r);
  EXPECT_TRUE(contains(r.out, "cachet 0.")) << show(r);
}

TEST_F(Cli, DefaultEnvironmentIsSimple) {
  const auto r = run_cli({"probe"}, {});
  EXPECT_EQ(r.exit_code, 0) << show(r);
  EXPECT_TRUE(contains(r.out, "CACHE_TYPE=simple")) << show(r);
  EXPECT_TRUE(contains(r.out, "requested:  simple")) << show(r);
  EXPECT_TRUE(contains(r.out, "backend:    simple")) << show(r);
  EXPECT_TRUE(contains(r.out, "fell back:  no")) << show(r);
  EXPECT_TRUE(contains(r.out, "OK: the simple backend is usable")) << show(r);
  EXPECT_EQ(r.err, "");
}

TEST_F(Cli, NullType) {
  const auto r = run_cli({"probe"}, {{"CACHE_TYPE", "null"}});
  EXPECT_EQ(r.exit_code, 0) << show(r);
  EXPECT_TRUE(contains(r.out, "backend:    null")) << show(r);
}

TEST_F(Cli, LiveRedisExitsZeroAndRedactsThePassword) {
  REQUIRE_REDIS();
  cachet::test::RedisServer::Options opts;
  opts.args = {"--requirepass", "cli-secret-42"};
  opts.password = "cli-secret-42";
  cachet::test::RedisServer server(opts);
  const std::string host = "127.0.0.1:" + std::to_string(server.port());
  const auto r = run_cli({"probe"}, redis_env("redis://:cli-secret-42@" + host + "/0", {{"APP_ENV", "production"}}));
  EXPECT_EQ(r.exit_code, 0) << show(r);
  EXPECT_TRUE(contains(r.out, "REDIS_URL=redis://:***@" + host + "/0")) << show(r);
  EXPECT_TRUE(contains(r.out, "backend:    redis")) << show(r);
  EXPECT_TRUE(contains(r.out, "fell back:  no")) << show(r);
  EXPECT_TRUE(contains(r.out, "probe time: ")) << show(r);
  EXPECT_TRUE(contains(r.out, "OK: the redis backend is usable")) << show(r);
  EXPECT_FALSE(contains(r.out + r.err, "cli-secret-42")) << show(r);
  EXPECT_EQ(server.dbsize(), 0);  // the probe key is gone
}

TEST_F(Cli, ClosedPortExitsOneWithTheReason) {
  const int port = cachet::test::free_loopback_port();
  const auto r = run_cli({"probe"}, redis_env("redis://:pw-zz-31@127.0.0.1:" + std::to_string(port) + "/0"));
  EXPECT_EQ(r.exit_code, 1) << show(r);
  EXPECT_TRUE(contains(r.out, "requested:  redis")) << show(r);
  EXPECT_TRUE(contains(r.out, "backend:    simple")) << show(r);
  EXPECT_TRUE(contains(r.out, "fell back:  yes")) << show(r);
  EXPECT_TRUE(contains(r.out, "reason:     connection refused")) << show(r);
  EXPECT_TRUE(contains(r.out, "probe time: ")) << show(r);
  EXPECT_TRUE(contains(r.out, "FELL BACK")) << show(r);
  EXPECT_TRUE(contains(r.err, "warning")) << show(r);  // the line the service itself would log
  EXPECT_FALSE(contains(r.out + r.err, "pw-zz-31")) << show(r);
  EXPECT_LT(r.elapsed, 5s);
}

TEST_F(Cli, StoppedServerExitsOneWithinTheTimeouts) {
  REQUIRE_REDIS();
  cachet::test::RedisServer server;
  server.pause();
  const auto r = run_cli({"probe"}, redis_env(server.url()));
  server.resume();
  EXPECT_EQ(r.exit_code, 1) << show(r);
  EXPECT_TRUE(contains(r.out, "fell back:  yes")) << show(r);
  EXPECT_TRUE(contains(r.out, "timeout")) << show(r);
  EXPECT_LT(r.elapsed, 200ms + 300ms + 3s);  // process start-up included
}

TEST_F(Cli, WrongPasswordExitsOneAndNamesIt) {
  REQUIRE_REDIS();
  cachet::test::RedisServer::Options opts;
  opts.args = {"--requirepass", "right-one-5"};
  opts.password = "right-one-5";
  cachet::test::RedisServer server(opts);
  const auto r =
      run_cli({"probe"}, redis_env("redis://:wrong-one-6@127.0.0.1:" + std::to_string(server.port()) + "/0"));
  EXPECT_EQ(r.exit_code, 1) << show(r);
  EXPECT_TRUE(contains(r.out, "WRONGPASS") || contains(r.out, "NOAUTH")) << show(r);
  EXPECT_FALSE(contains(r.out + r.err, "wrong-one-6")) << show(r);
}

TEST_F(Cli, NoneModeExitsOne) {
  const int port = cachet::test::free_loopback_port();
  const auto r = run_cli({"probe"}, redis_env("redis://127.0.0.1:" + std::to_string(port) + "/0",
                                              {{"CACHE_FALLBACK", "none"}}));
  EXPECT_EQ(r.exit_code, 1) << show(r);
  EXPECT_TRUE(contains(r.out, "NOT USABLE")) << show(r);
  EXPECT_TRUE(contains(r.out, "backend:    (none)")) << show(r);
  EXPECT_TRUE(contains(r.out, "connection refused")) << show(r);
}

TEST_F(Cli, ConfigurationErrorsExitTwo) {
  auto r = run_cli({"probe"}, {{"CACHE_DEFAULT_TIMEOUT", "abc"}});
  EXPECT_EQ(r.exit_code, 2) << show(r);
  EXPECT_TRUE(contains(r.err, "CACHE_DEFAULT_TIMEOUT=\"abc\" is not valid")) << show(r);

  r = run_cli({"probe"}, {{"CACHE_TYPE", "redis"}, {"APP_ENV", "production"}});
  EXPECT_EQ(r.exit_code, 2) << show(r);
  EXPECT_TRUE(contains(r.err, "REDIS_URL must be set when CACHE_TYPE=redis in production")) << show(r);

  r = run_cli({"probe"}, {{"CACHE_TYPE", "redis"}, {"REDIS_URL", "redis://:leak-me-77@127.0.0.1:notaport/0"}});
  EXPECT_EQ(r.exit_code, 2) << show(r);
  EXPECT_TRUE(contains(r.err, "REDIS_URL")) << show(r);
  EXPECT_FALSE(contains(r.out + r.err, "leak-me-77")) << show(r);

  r = run_cli({"probe"}, {{"CACHE_THRESHOLD", ""}});
  EXPECT_EQ(r.exit_code, 2) << show(r);
  EXPECT_TRUE(contains(r.err, "CACHE_THRESHOLD is set to an empty string")) << show(r);

  r = run_cli({"probe"}, {{"CACHE_FALLBACK", "sometimes"}});
  EXPECT_EQ(r.exit_code, 2) << show(r);
  EXPECT_TRUE(contains(r.err, "CACHE_FALLBACK")) << show(r);
  EXPECT_TRUE(contains(r.err, "runtime, startup or none")) << show(r);
}

TEST_F(Cli, RuntimeModeReportsTheWrapper) {
  const int port = cachet::test::free_loopback_port();
  auto r = run_cli({"probe"}, redis_env("redis://127.0.0.1:" + std::to_string(port) + "/0", {{"CACHE_FALLBACK", "runtime"}}));
  EXPECT_EQ(r.exit_code, 1) << show(r);
  EXPECT_TRUE(contains(r.out, "backend:    fallback")) << show(r);
  EXPECT_TRUE(contains(r.out, "move to Redis by itself")) << show(r);

  REQUIRE_REDIS();
  cachet::test::RedisServer server;
  r = run_cli({"probe"}, redis_env(server.url(), {{"CACHE_FALLBACK", "runtime"}}));
  EXPECT_EQ(r.exit_code, 0) << show(r);
  EXPECT_TRUE(contains(r.out, "fell back:  no")) << show(r);
  EXPECT_TRUE(contains(r.out, "runtime fail-safe wrapper")) << show(r);
}

TEST_F(Cli, ConfigCommandPrintsWithoutConnecting) {
  const int port = cachet::test::free_loopback_port();
  auto r = run_cli({"config"}, redis_env("redis://u:pw-cfg-88@127.0.0.1:" + std::to_string(port) + "/4"));
  EXPECT_EQ(r.exit_code, 0) << show(r);
  EXPECT_TRUE(contains(r.out, "REDIS_URL=redis://u:***@127.0.0.1:" + std::to_string(port) + "/4")) << show(r);
  EXPECT_TRUE(contains(r.out, "CACHE_REDIS_CONNECT_TIMEOUT=200ms")) << show(r);
  EXPECT_FALSE(contains(r.out, "backend:")) << show(r);
  EXPECT_FALSE(contains(r.out + r.err, "pw-cfg-88")) << show(r);
  r = run_cli({"config"}, {{"CACHE_TYPE", "nope"}});
  EXPECT_EQ(r.exit_code, 2) << show(r);
}

// `cachet probe` over TLS: the session and the server certificate, the
// warning for a certificate that expires within 14 days (the harness's is
// valid for 2), the env keys overriding the URL, and a TLS failure's reason.
TEST_F(Cli, TlsProbeShowsTheSessionAndTheCertificate) {
  REQUIRE_REDIS();
  const auto& certs = cachet::test::TlsCerts::shared();
  auto& server = cachet::test::tls_server(cachet::test::TlsServerKind::mutual);
  // The env keys override the URL's CA; the key's passphrase comes from the URL.
  const std::string url = "rediss://localhost:" + std::to_string(server.port()) +
                          "/0?ssl_ca_certs=" + certs.other_ca_cert + "&ssl_password=";
  const std::string real_url = url + certs.client_key_password;
  const auto ok = run_cli({"probe"}, redis_env(real_url, {{"CACHE_REDIS_TLS_CA_CERTS", certs.ca_cert},
                                                         {"CACHE_REDIS_TLS_CERTFILE", certs.client_cert},
                                                         {"CACHE_REDIS_TLS_KEYFILE", certs.client_key_encrypted}}));
  EXPECT_EQ(ok.exit_code, 0) << show(ok);
  EXPECT_TRUE(contains(ok.out, "OK: the redis backend is usable")) << show(ok);
  EXPECT_TRUE(contains(ok.out, "  TLS:        TLSv1.")) << show(ok);
  EXPECT_TRUE(contains(ok.out, ", cipher ")) << show(ok);
  EXPECT_TRUE(contains(ok.out, "    subject:  CN=localhost")) << show(ok);
  EXPECT_TRUE(contains(ok.out, "    issuer:   CN=cachet test CA")) << show(ok);
  EXPECT_TRUE(contains(ok.out, "    expires:  20")) << show(ok);
  EXPECT_TRUE(contains(ok.out, "  WARNING:    the Redis server's TLS certificate CN=localhost expires on ")) << show(ok);
  EXPECT_TRUE(contains(ok.err, "expires on")) << show(ok);  // the line the service itself would log
  EXPECT_TRUE(contains(ok.out, "CACHE_REDIS_TLS_CA_CERTS=\"" + certs.ca_cert + "\"")) << show(ok);
  EXPECT_FALSE(contains(ok.out + ok.err, certs.client_key_password)) << show(ok);

  // A passphrase that does not open the key is a configuration error, never shown.
  const auto bad_pass =
      run_cli({"probe"}, redis_env(url + "tls-pass-77", {{"CACHE_REDIS_TLS_CERTFILE", certs.client_cert},
                                                         {"CACHE_REDIS_TLS_KEYFILE", certs.client_key_encrypted}}));
  EXPECT_EQ(bad_pass.exit_code, 2) << show(bad_pass);
  EXPECT_TRUE(contains(bad_pass.err, "ssl_password")) << show(bad_pass);
  EXPECT_FALSE(contains(bad_pass.out + bad_pass.err, "tls-pass-77")) << show(bad_pass);

  // No client certificate: the server refuses, and the reason says so.
  const auto refused = run_cli(
      {"probe"}, redis_env("rediss://localhost:" + std::to_string(server.port()) + "/0?ssl_ca_certs=" + certs.ca_cert));
  EXPECT_EQ(refused.exit_code, 1) << show(refused);
  EXPECT_TRUE(contains(refused.out, "reason:     TLS")) << show(refused);
  EXPECT_TRUE(contains(refused.out, "certificate")) << show(refused);

  // A CA that did not sign the server's certificate, with CACHE_FALLBACK=none.
  const auto untrusted = run_cli({"probe"}, redis_env("rediss://localhost:" + std::to_string(server.port()) + "/0",
                                                      {{"CACHE_REDIS_TLS_CA_CERTS", certs.other_ca_cert},
                                                       {"CACHE_FALLBACK", "none"}}));
  EXPECT_EQ(untrusted.exit_code, 1) << show(untrusted);
  EXPECT_TRUE(contains(untrusted.out, "NOT USABLE")) << show(untrusted);
  EXPECT_TRUE(contains(untrusted.out, "server certificate not trusted")) << show(untrusted);
}

TEST_F(Cli, HybridProbeShowsTheModeAndAnInvalidationArriving) {
  REQUIRE_REDIS();
  cachet::test::RedisServer server;
  const std::string url = "redis://127.0.0.1:" + std::to_string(server.port()) + "/0";
  for (const std::string mode : {"bcast", "tracking", "pubsub"}) {
    const auto r = run_cli({"probe"}, redis_env(url, {{"CACHE_TYPE", "hybrid"}, {"CACHE_L1_INVALIDATION", mode}}));
    EXPECT_EQ(r.exit_code, 0) << show(r);
    EXPECT_TRUE(contains(r.out, "backend:    hybrid")) << show(r);
    EXPECT_TRUE(contains(r.out, "coherence:  " + mode + " (requested)")) << show(r);
    EXPECT_TRUE(contains(r.out, "invalidation: ok (mode " + mode + ")")) << show(r);
  }
  // Mode none has no channel to check: said so, and usable.
  const auto none = run_cli({"probe"}, redis_env(url, {{"CACHE_TYPE", "hybrid"}, {"CACHE_L1_INVALIDATION", "none"}}));
  EXPECT_EQ(none.exit_code, 0) << show(none);
  EXPECT_TRUE(contains(none.out, "(mode none)")) << show(none);
  EXPECT_EQ(server.dbsize(), 0);  // the test keys are gone
}

TEST_F(Cli, HybridProbeAgainstAClosedPortFallsBack) {
  const std::string url = "redis://127.0.0.1:" + std::to_string(cachet::test::free_loopback_port()) + "/0";
  const auto r = run_cli({"probe"}, redis_env(url, {{"CACHE_TYPE", "hybrid"}}));
  EXPECT_EQ(r.exit_code, 1) << show(r);
  EXPECT_TRUE(contains(r.out, "FELL BACK")) << show(r);
}
