// The metrics suite (issue #17): what per-operation call counting and latency
// timing cost. Each backend is measured against a twin with metrics off
// (Cache::set_metrics_enabled(false)) in A-B-B-A quads of short runs, on
// pre-filled keys so every get hits: the in-memory hit is where timing weighs
// most, and RedisCache's round trips show whether timing every call matters.
#include <cachet/redis_cache.hpp>
#include <cachet/simple_cache.hpp>

#include <memory>
#include <string>
#include <vector>

#include "raw_redis.hpp"
#include "suites.hpp"
#include "workload.hpp"

namespace cachet::bench {
namespace {

// One thread getting keys of `trace` from `cache` until `stop`.
Counts get_loop(Cache& cache, const std::vector<Op>& trace, const KeySet& keys, Gate& gate,
                const std::atomic<bool>& stop) {
  std::size_t i = 0;
  return gate.count(stop, [&](Counts& c) {
    for (int j = 0; j < 32; ++j) {
      ++c.gets;
      c.hits += cache.get(keys[op_key(trace[i])]).has_value() ? 1 : 0;
      if (++i == trace.size()) i = 0;
    }
    c.units += 32;
  });
}

// Median of on/off over quads, pooled over the pairs (every other pair
// measured the other way round, so neither side always runs first).
Sample on_vs_off(const std::vector<std::unique_ptr<Cache>>& off, const std::vector<std::unique_ptr<Cache>>& on,
                 int quads, const std::vector<Op>& trace, const KeySet& keys, double slice) {
  auto timed = [&](Cache& cache) {
    return [&cache, &trace, &keys, slice]() {
      return run_timed(1, slice, [&](int, Gate& gate, const std::atomic<bool>& stop) {
        return get_loop(cache, trace, keys, gate, stop);
      });
    };
  };
  Sample pooled;
  for (std::size_t p = 0; p < off.size(); ++p) {
    if (p % 2 == 0) {
      const Sample q = abba(quads, timed(*off[p]), timed(*on[p]));
      pooled.rates.insert(pooled.rates.end(), q.rates.begin(), q.rates.end());
    } else {
      const Sample q = abba(quads, timed(*on[p]), timed(*off[p]));
      for (double r : q.rates) pooled.rates.push_back(1.0 / r);
    }
  }
  return pooled;
}

// The on/off ratio line, then the twin control (off[0] against off[1]).
void compare(Report& report, const std::string& line, const std::string& control, const std::string& backend,
             std::vector<std::unique_ptr<Cache>>& off, const std::vector<std::unique_ptr<Cache>>& on, int quads,
             const std::vector<Op>& trace, const KeySet& keys, double slice, const std::string& how) {
  const Sample s = on_vs_off(off, on, quads, trace, keys, slice);
  report.ratio({line, s.median(), 0.95, Better::higher, backend + " get-hit throughput, metrics on / off" + how});
  std::vector<std::unique_ptr<Cache>> twin_a, twin_b;
  twin_a.push_back(std::move(off[0]));
  twin_b.push_back(std::move(off[1]));
  report.info(control, on_vs_off(twin_a, twin_b, quads, trace, keys, slice).median(),
              "two " + backend + "s with metrics off measured the same way: the noise floor of " + line);
}

}  // namespace

void metrics_suite(const Options& o, Report& report) {
  report.section("Metrics: throughput with per-operation metrics on / off (issue #17)");
  const std::size_t nkeys = 100'000;
  const KeySet keys(nkeys);
  const auto perm = scramble(nkeys, 0x5EED);
  const std::string value = make_value(100, 3);
  const std::vector<Op> trace = zipf_trace(std::size_t{1} << 16, 0.99, perm, 0.0, 17);
  const int quads = o.quick ? 15 : 40;
  const double slice = o.quick ? 0.01 : 0.02;
  constexpr std::size_t kPairs = 3;
  const std::string how = " (median of " + std::to_string(quads) + " A-B-B-A quads x " + std::to_string(kPairs) +
                          " pairs, 1 thread, every get hits)";

  {
    SimpleCacheOptions so;
    so.max_items = 2 * nkeys;
    so.max_bytes = std::size_t{1} << 30;
    so.default_timeout = Ttl::never();
    std::vector<std::unique_ptr<Cache>> off, on;
    for (std::size_t p = 0; p < kPairs; ++p) {
      off.push_back(std::make_unique<SimpleCache>(so));
      on.push_back(std::make_unique<SimpleCache>(so));
      off.back()->set_metrics_enabled(false);
      for (auto* c : {off.back().get(), on.back().get()}) {
        for (std::size_t k = 0; k < nkeys; ++k) c->set(keys[perm[nkeys - 1 - k]], value);
      }
    }
    compare(report, "M1_simple_metrics_on_vs_off_1t", "M1_control_twin_1t", "SimpleCache", off, on, quads, trace,
            keys, slice, how);
    const LatencySnapshot l = on[0]->latency(cachet::Op::get);
    report.note("SimpleCache get latency from its own histogram: p50 " + human(l.p50() * 1e6) + "us, p99 " +
                human(l.p99() * 1e6) + "us, p999 " + human(l.p999() * 1e6) + "us over " + human(double(l.calls)) +
                " calls (the first bucket is (0, 1 us]: sub-microsecond hits read as fractions of it)");
  }

  if (o.redis_port == 0) {
    report.note("RedisCache metrics line skipped: no --redis-port (./bench/run starts a redis-server)");
    return;
  }
  RedisOptions ro;
  ro.host = o.redis_host;
  ro.port = o.redis_port;
  ro.key_prefix = "bench-metrics:";
  ro.default_timeout = Ttl::never();
  ro.pool_size = 1;
  ro.socket_timeout = std::chrono::milliseconds(2000);
  ro.pool_wait_timeout = std::chrono::milliseconds(5000);
  std::vector<std::unique_ptr<Cache>> off, on;
  for (std::size_t p = 0; p < kPairs; ++p) {
    off.push_back(std::make_unique<RedisCache>(ro));
    on.push_back(std::make_unique<RedisCache>(ro));
    off.back()->set_metrics_enabled(false);
  }
  {
    std::vector<std::pair<std::string, std::string>> batch;
    for (std::size_t k = 0; k < nkeys; ++k) {
      batch.emplace_back(std::string(keys[k]), value);
      if (batch.size() == 1000) {
        off[0]->set_many(batch);
        batch.clear();
      }
    }
  }
  compare(report, "M2_redis_metrics_on_vs_off_1t", "M2_control_twin_1t", "RedisCache", off, on, quads, trace, keys,
          slice, how);
  const LatencySnapshot l = on[0]->latency(cachet::Op::get);
  report.note("RedisCache get latency from its own histogram: p50 " + human(l.p50() * 1e6) + "us, p99 " +
              human(l.p99() * 1e6) + "us, max " + human(l.max_seconds * 1e6) + "us over " +
              human(double(l.calls)) + " calls");
}

}  // namespace cachet::bench
