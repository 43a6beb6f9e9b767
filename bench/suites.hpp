// bench/suites.hpp — the benchmark suites and their shared options.
#pragma once

#include <string>
#include <vector>

#include "harness.hpp"

namespace cachet::bench {

struct Options {
  bool quick = false;
  int rounds = 15;                // measured rounds per contender (plus one warm-up)
  double seconds = 0.08;          // wall time per measurement
  std::vector<int> threads{1, 2};  // thread counts for the in-memory matrix (P4 needs 1 and 2)
  std::string redis_host = "127.0.0.1";
  int redis_port = 0;             // 0: skip the Redis suite
  std::string self_exe;           // this binary, for child processes (P6)
  std::string cluster_url;        // redis+cluster:// of a cluster this run may write to; empty: skip the Cluster suite
};

void memory_suite(const Options& o, Report& report);     // P4, P7 and the throughput matrix
void redis_suite(const Options& o, Report& report);      // P1, P2, P3
void cluster_suite(const Options& o, Report& report);    // C1, C2
void miss_ratio_suite(const Options& o, Report& report);  // P5
void rss_suite(const Options& o, Report& report);        // P6 (runs children)
void metrics_suite(const Options& o, Report& report);    // M1, M2: metrics on vs off
void tls_suite(const Options& o, Report& report);        // T1-T3: RedisCache over TLS vs raw OpenSSL
void loading_suite(const Options& o, Report& report);    // L1, L2: get_or_set with LoadOptions
void hybrid_suite(const Options& o, Report& report);     // H1-H4: HybridCache
/// Child process of rss_suite: prints one line of results; returns the exit code.
int rss_child(const std::string& mode, bool quick);
/// The Zipf sampler against the exact pmf; returns 0 when it passes.
int zipf_selfcheck();

}  // namespace cachet::bench
