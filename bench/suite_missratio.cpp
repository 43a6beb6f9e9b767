// The miss-ratio suite (P5): SimpleCache and the LRU at equal item capacity,
// replaying the same traces over a 1M-key space. Not timed; the independent
// (trace, capacity, policy) simulations run on two threads.
#include <cachet/simple_cache.hpp>

#include <atomic>
#include <cstdio>
#include <functional>
#include <thread>

#include "lru.hpp"
#include "suites.hpp"
#include "workload.hpp"

namespace cachet::bench {
namespace {

// Replays `trace`: get, and set on a miss. Misses in the first `warmup`
// requests are not counted (the cache starts empty).
template <class CacheT>
double replay(CacheT& cache, const std::vector<Op>& trace, std::size_t warmup, const KeySet& keys,
              std::string_view value) {
  std::size_t misses = 0;
  for (std::size_t i = 0; i < trace.size(); ++i) {
    const auto key = keys[op_key(trace[i])];
    if (!cache.get(key)) {
      cache.set(key, value);
      if (i >= warmup) ++misses;
    }
  }
  return static_cast<double>(misses) / static_cast<double>(trace.size() - warmup);
}

}  // namespace

void miss_ratio_suite(const Options& o, Report& report) {
  report.section("Miss ratio at equal item capacity: SimpleCache vs LRU, 1M-key space (P5)");
  const std::size_t space = 1'000'000;
  const std::size_t length = o.quick ? 1'000'000 : 2'000'000;
  const std::size_t warmup = length / 5;
  std::vector<double> percents = {0.1, 0.3, 1.0, 3.0};
  if (o.quick) percents = {0.1, 1.0};
  const std::size_t largest = static_cast<std::size_t>(space * percents.back() / 100);
  const std::size_t burst = 2 * largest;  // scan bursts are longer than every cache measured

  const auto perm = scramble(space, 0x5CA7);
  struct Trace {
    std::string name;
    double threshold;
    std::vector<Op> ops;
  };
  std::vector<Trace> traces;
  std::size_t max_id = space;
  for (double s : {0.7, 0.9, 0.99, 1.2}) {
    char name[32];
    std::snprintf(name, sizeof name, "zipf%g", s);
    const double threshold = s == 0.99 ? 0.85 : s == 0.9 ? 0.88 : 1.0;
    traces.push_back({name, threshold, zipf_trace(length, s, perm, 0.0, 31 + static_cast<std::uint64_t>(100 * s))});
  }
  traces.push_back({"scan", 1.0, scan_mixed_trace(length, perm, burst, 0.20, 77, &max_id)});
  const KeySet keys(max_id);
  const std::string value = make_value(100, 3);
  char buf[256];
  std::snprintf(buf, sizeof buf,
                "%zu requests per trace, first %zu (20%%) warm the cache and are not counted; get, set on miss",
                length, warmup);
  report.note(buf);
  std::snprintf(buf, sizeof buf, "scan trace: Zipf 0.9 + 20%% one-off sequential keys in bursts of %zu (> largest cache %zu)",
                burst, largest);
  report.note(buf);

  struct Job {
    std::size_t trace;
    double percent;
    bool simple;
    double result = 0;
  };
  std::vector<Job> jobs;
  for (std::size_t t = 0; t < traces.size(); ++t)
    for (double p : percents)
      for (bool simple : {true, false}) jobs.push_back({t, p, simple});
  std::atomic<std::size_t> next{0};
  auto work = [&] {
    for (std::size_t j; (j = next.fetch_add(1)) < jobs.size();) {
      Job& job = jobs[j];
      const auto capacity = static_cast<std::size_t>(space * job.percent / 100);
      const auto& trace = traces[job.trace].ops;
      if (job.simple) {
        SimpleCacheOptions opt;
        opt.max_items = capacity;
        opt.max_bytes = std::size_t{1} << 30;  // only the item count binds
        opt.default_timeout = Ttl::never();
        SimpleCache cache(opt);
        job.result = replay(cache, trace, warmup, keys, value);
      } else {
        LockedLru cache(capacity);
        job.result = replay(cache, trace, warmup, keys, value);
      }
    }
  };
  std::thread helper(work);
  work();
  helper.join();

  std::printf("   %-10s %9s %8s %12s %12s %8s\n", "trace", "capacity", "items", "SimpleCache", "LRU", "ratio");
  for (std::size_t k = 0; k + 1 < jobs.size(); k += 2) {
    const Job& s = jobs[k];
    const Job& l = jobs[k + 1];
    const auto& tr = traces[s.trace];
    const auto capacity = static_cast<std::size_t>(space * s.percent / 100);
    std::printf("   %-10s %8g%% %8zu %12.4f %12.4f %8.3f\n", tr.name.c_str(), s.percent, capacity, s.result, l.result,
                s.result / l.result);
    report.miss_ratio(tr.name, "SimpleCache", s.percent, s.result);
    report.miss_ratio(tr.name, "LRU", s.percent, l.result);
    if (s.percent == 0.1 || s.percent == 1.0) {
      char name[64];
      std::snprintf(name, sizeof name, "P5_%s_cap%gpct_vs_lru", tr.name.c_str(), s.percent);
      std::snprintf(buf, sizeof buf, "miss ratio SimpleCache / LRU, %s, %zu items", tr.name.c_str(), capacity);
      report.ratio({name, s.result / l.result, tr.threshold, Better::lower, buf});
    }
  }
}

}  // namespace cachet::bench
