// cachet_bench — cachet against same-run baselines (issue #6, targets P1-P7).
//
// Usually started by ./bench/run, which builds it. The Redis suite runs against
// a private redis-server the bench starts on a free loopback port (through the
// tests' harness, tests/support/redis_server.hpp), or against --redis-port; the
// Cluster suite against a private 3-master cluster (tests/support/redis_cluster.hpp)
// or --cluster-url.
// See docs/benchmarks.md.
#include <unistd.h>

#include <climits>
#include <cstdio>
#include <cstdlib>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>

#include "suites.hpp"
#include "support/redis_cluster.hpp"
#include "support/redis_server.hpp"

namespace {

const char* const kUsage =
    "usage: cachet_bench [options]\n"
    "  --quick             shorter measurements and traces (about a minute)\n"
    "  --rounds N          measured rounds per contender (default 15, quick 7)\n"
    "  --seconds S         seconds per measurement (default 0.08, quick 0.05)\n"
    "  --threads LIST      thread counts for the in-memory matrix, e.g. 1,2,4 (default 1,2)\n"
    "  --redis-port P      a redis-server this run may FLUSHALL (default: start a private one\n"
    "                      on a free loopback port, stopped after the Redis suite)\n"
    "  --redis-host H      host of --redis-port's server (default 127.0.0.1)\n"
    "  --cluster-url URL   a redis+cluster:// cluster this run may write to (default: start a\n"
    "                      private one of 3 masters, stopped after the Cluster suite)\n"
    "  --only LIST         suites to run: memory,redis,cluster,missratio,rss,loading,metrics,tls,hybrid (default all)\n"
    "  --stat median|best  statistic compared across rounds (default median)\n"
    "  --csv PATH          write every result as CSV\n"
    "  --selfcheck         check the Zipf sampler against the exact pmf and exit\n";

[[noreturn]] void usage_error(const std::string& msg) {
  std::fprintf(stderr, "cachet_bench: %s\n%s", msg.c_str(), kUsage);
  std::exit(2);
}

int parse_int(const std::string& flag, const std::string& text, int lo, int hi) {
  try {
    std::size_t used = 0;
    const long v = std::stol(text, &used);
    if (used == text.size() && v >= lo && v <= hi) return static_cast<int>(v);
  } catch (const std::exception&) {
  }
  usage_error(flag + ": '" + text + "' is not an integer in [" + std::to_string(lo) + ", " + std::to_string(hi) + "]");
}

// The 1-minute load average, or -1 when unknown. Printed with the results:
// with more runnable threads than cores, thread-scaling numbers mean little.
double load_average() {
  double one = -1;
  if (FILE* f = std::fopen("/proc/loadavg", "r")) {
    if (std::fscanf(f, "%lf", &one) != 1) one = -1;
    std::fclose(f);
  }
  return one;
}

// "redis_version:7.0.15" from the server's INFO, or "version unknown".
std::string redis_version(const cachet::test::RedisServer& server) {
  const std::string info = server.command({"INFO", "server"});
  const std::size_t at = info.find("redis_version:");
  if (at == std::string::npos) return "version unknown";
  return info.substr(at, info.find_first_of("\r\n", at) - at);
}

}  // namespace

int main(int argc, char** argv) {
  using namespace cachet::bench;
  Options o;
  std::set<std::string> only;
  std::string csv, child;
  bool rounds_set = false, seconds_set = false, host_set = false;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) usage_error(a + " needs a value");
      return argv[++i];
    };
    if (a == "--quick") {
      o.quick = true;
    } else if (a == "--rounds") {
      o.rounds = parse_int(a, next(), 1, 100);
      rounds_set = true;
    } else if (a == "--seconds") {
      const std::string v = next();
      char* end = nullptr;
      o.seconds = std::strtod(v.c_str(), &end);
      if (end == v.c_str() || *end != '\0' || !(o.seconds >= 0.01 && o.seconds <= 60))
        usage_error("--seconds: '" + v + "' is not a number in [0.01, 60]");
      seconds_set = true;
    } else if (a == "--threads") {
      o.threads.clear();
      std::stringstream in(next());
      for (std::string item; std::getline(in, item, ',');) o.threads.push_back(parse_int(a, item, 1, 256));
      if (o.threads.empty()) usage_error("--threads: give a list such as 1,2,4");
    } else if (a == "--redis-port") {
      o.redis_port = parse_int(a, next(), 1, 65535);
    } else if (a == "--cluster-url") {
      o.cluster_url = next();
    } else if (a == "--redis-host") {
      o.redis_host = next();
      host_set = true;
    } else if (a == "--only") {
      std::stringstream in(next());
      for (std::string item; std::getline(in, item, ',');) {
        static const std::set<std::string> kSuites = {"memory",  "redis",   "cluster", "missratio",
                                                      "rss",     "loading", "metrics", "tls",     "hybrid"};
        if (kSuites.count(item) == 0) {
          usage_error("--only: unknown suite '" + item +
                      "' (accepted: memory, redis, cluster, missratio, rss, loading, metrics, tls, hybrid)");
        }
        only.insert(item);
      }
    } else if (a == "--stat") {
      const std::string v = next();
      if (v != "median" && v != "best") usage_error("--stat: '" + v + "' is not accepted (accepted: median, best)");
      g_use_best = v == "best";
    } else if (a == "--csv") {
      csv = next();
    } else if (a == "--selfcheck") {
      return zipf_selfcheck();
    } else if (a == "--rss-child") {  // internal: one P6 measurement in a fresh process
      child = next();
    } else if (a == "-h" || a == "--help") {
      std::fputs(kUsage, stdout);
      return 0;
    } else {
      usage_error("unknown option '" + a + "'");
    }
  }
  if (!child.empty()) return rss_child(child, o.quick);
  if (host_set && o.redis_port == 0) usage_error("--redis-host needs --redis-port");
  if (o.quick) {
    if (!rounds_set) o.rounds = 7;
    if (!seconds_set) o.seconds = 0.05;
  }
  char exe[PATH_MAX];
  const ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
  o.self_exe = n > 0 ? std::string(exe, static_cast<std::size_t>(n)) : std::string(argv[0]);

  auto wanted = [&](const char* s) { return only.empty() || only.count(s) > 0; };
  std::printf("cachet_bench: %s run, %d rounds x %.2f s per contender (%s compared), in-memory threads:",
              o.quick ? "quick" : "full", o.rounds, o.seconds, g_use_best ? "best round" : "median");
  for (int t : o.threads) std::printf(" %d", t);
  std::printf("\n");

  const unsigned cores = std::thread::hardware_concurrency();
  std::printf("load average at start: %.2f on %u cores%s\n", load_average(), cores,
              load_average() > cores ? " (busy machine: expect noisy numbers, thread scaling especially)" : "");
  Report report;
  report.value("load average at start", "machine", load_average(), "runnable");
  // Runs `suite` on --redis-port's server, or on one started now and stopped
  // right after (the other suites then run without an idle server around).
  auto with_redis = [&](const char* name, void (*suite)(const Options&, Report&)) {
    if (o.redis_port != 0) {
      suite(o, report);
    } else if (!cachet::test::redis_server_available()) {
      report.note(std::string(name) + " suite skipped: no redis-server installed and no --redis-port");
    } else {
      cachet::test::RedisServer server;
      std::printf("\nredis-server on 127.0.0.1:%d (pid %d, %s)\n", server.port(), static_cast<int>(server.pid()),
                  redis_version(server).c_str());
      Options with_server = o;
      with_server.redis_port = server.port();
      suite(with_server, report);
    }
  };
  try {
    if (wanted("memory")) memory_suite(o, report);
    if (wanted("redis")) with_redis("Redis", redis_suite);
    if (wanted("cluster")) {
      if (!o.cluster_url.empty()) {
        cluster_suite(o, report);
      } else if (!cachet::test::redis_server_available() || !cachet::test::redis_cli_available()) {
        report.note("Cluster suite skipped: redis-server or redis-cli not installed and no --cluster-url");
      } else {
        cachet::test::RedisCluster cluster(/*replicas_per_master=*/0);
        std::printf("\nRedis Cluster of 3 masters at %s\n", cluster.url().c_str());
        Options with_cluster = o;
        with_cluster.cluster_url = cluster.url();
        cluster_suite(with_cluster, report);
      }
    }
    if (wanted("missratio")) miss_ratio_suite(o, report);
    if (wanted("rss")) rss_suite(o, report);
    if (wanted("loading")) loading_suite(o, report);
    if (wanted("metrics")) metrics_suite(o, report);
    if (wanted("tls")) tls_suite(o, report);
    if (wanted("hybrid")) with_redis("Hybrid", hybrid_suite);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "cachet_bench: aborted: %s\n", e.what());
    return 1;
  }
  report.value("load average at end", "machine", load_average(), "runnable");
  std::printf("\nload average at end: %.2f on %u cores\n", load_average(), cores);
  const int failed = report.finish();
  if (!csv.empty() && !report.write_csv(csv)) {
    std::fprintf(stderr, "cachet_bench: cannot write %s\n", csv.c_str());
    return 1;
  }
  (void)failed;  // a missed target is a result, not an error of the run
  return 0;
}
