// The in-memory throughput suite: SimpleCache against the locked LRU (P4),
// SimpleCache with TTLs against itself without (P7), over get/set mixes and
// Zipf exponents, on every requested thread count.
#include <cachet/simple_cache.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <memory>
#include <vector>
#include <thread>

#include "alloc_count.hpp"
#include "lru.hpp"
#include "suites.hpp"
#include "workload.hpp"

namespace cachet::bench {
namespace {

// One thread's loop over its trace. Checks `stop` every 32 requests.
template <class CacheT>
Counts run_trace(CacheT& cache, const std::vector<Op>& trace, const KeySet& keys, std::string_view value,
                 Gate& gate, const std::atomic<bool>& stop) {
  std::uint64_t bytes = 0;
  std::size_t i = 0;
  const std::size_t len = trace.size();  // a multiple of 32
  const Counts counts = gate.count(stop, [&](Counts& c) {
    for (int j = 0; j < 32; ++j, ++i) {
      const Op op = trace[i];
      const auto key = keys[op_key(op)];
      if (op_is_set(op)) {
        cache.set(key, value);
      } else {
        ++c.gets;
        if (auto v = cache.get(key)) {
          ++c.hits;
          bytes += v->size();
        }
      }
    }
    if (i == len) i = 0;
    c.units += 32;
  });
  g_sink.fetch_add(bytes, std::memory_order_relaxed);
  return counts;
}

std::string fmt_s(double s) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%g", s);
  return buf;
}

}  // namespace

void memory_suite(const Options& o, Report& report) {
  report.section("In-memory throughput: SimpleCache vs std::mutex + unordered_map + list LRU (P4, P7)");
  const std::size_t nkeys = 100'000;
  const std::size_t trace_len = std::size_t{1} << (o.quick ? 18 : 20);
  const KeySet keys(nkeys);
  const auto perm = scramble(nkeys, 0xC0FFEE);
  const std::string value = make_value(100, 1);

  SimpleCacheOptions plain;
  plain.max_items = 2 * nkeys;          // every key fits: the hit path is measured
  plain.max_bytes = std::size_t{1} << 30;
  plain.default_timeout = Ttl::never();
  SimpleCacheOptions with_ttl = plain;
  with_ttl.default_timeout = std::chrono::hours(1);  // every entry has a TTL; none expires during the run

  // P7 compares caches that differ only in their TTLs: a difference of a few
  // per cent, where this machine's throughput swings by tens of per cent
  // between 80 ms rounds. So P7 has its own measurement: A-B-B-A sequences of
  // 20 ms runs (harness abba()), over kP7Pairs pairs built in sequence (two
  // identical caches built side by side already differ a little, by where
  // their entries landed in memory), the middle pair built and measured the
  // other way round; and next to it the same measurement of two identical
  // no-TTL caches, which only noise and layout can move off 1.
  constexpr std::size_t kP7Pairs = 3;
  std::vector<std::unique_ptr<SimpleCache>> nottl;
  std::vector<std::unique_ptr<SimpleCache>> ttl;
  for (std::size_t p = 0; p < kP7Pairs; ++p) {
    nottl.push_back(std::make_unique<SimpleCache>(plain));
    ttl.push_back(std::make_unique<SimpleCache>(with_ttl));
  }
  SimpleCache& simple = *nottl[0];  // the P4 contender
  LockedLru lru(2 * nkeys);
  // Pre-fill, coldest first, one cache after the other: each cache's entries
  // lie together in memory, as in a process with one cache. (Filled key by key
  // across all caches, each cache's entries were spread over several times the
  // address range, and identical caches differed by up to 4% depending on
  // their place in that interleave.)
  auto fill = [&](auto& cache) {
    for (std::size_t r = 0; r < nkeys; ++r) cache.set(keys[perm[nkeys - 1 - r]], value);
  };
  for (std::size_t p = 0; p < kP7Pairs; ++p) {  // pair 1 built the other way round
    fill(p % 2 == 0 ? *nottl[p] : *ttl[p]);
    fill(p % 2 == 0 ? *ttl[p] : *nottl[p]);
  }
  fill(lru);
  char buf[256];
  std::snprintf(buf, sizeof buf,
                "%zu keys (%zu B) x 100 B values, all pre-filled; max_items %zu; traces of %zu requests per thread",
                nkeys, keys.width(), 2 * nkeys, trace_len);
  report.note(buf);
  report.note("P7: 'SimpleCache+TTL' has default_timeout 1 h, so every entry carries a TTL; 'SimpleCache' has none;");
  report.note("    P7 ratio: median over A-B-B-A quads of " + std::string(o.quick ? "10" : "20") +
              " ms runs, pooled over " + std::to_string(kP7Pairs) + " cache pairs (pair 1 reversed)");

  // Allocations on the hit path, counted on separate small caches (so the
  // timed caches are not touched): a hit should allocate the returned value
  // and nothing else, and an overwrite of the same size nothing at all.
  if (allocs::available()) {
    constexpr int kAllocKeys = 2000;
    SimpleCache a_simple(plain);
    SimpleCache a_ttl(with_ttl);
    LockedLru a_lru(2 * kAllocKeys);
    auto key = [&](int i) { return keys[perm[static_cast<std::size_t>(i % kAllocKeys)]]; };
    for (int i = 0; i < kAllocKeys; ++i) {
      a_simple.set(key(i), value);
      a_ttl.set(key(i), value);
      a_lru.set(key(i), value);
    }
    // Each get must hit and return the value (else per_call gives infinity).
    auto hit = [&](auto& cache, int i) {
      const auto v = cache.get(key(i));
      return v.has_value() && *v == value;
    };
    const double simple_hit = allocs::per_call([&](int i) { return hit(a_simple, i); }, 20'000);
    const double ttl_hit = allocs::per_call([&](int i) { return hit(a_ttl, i); }, 20'000);
    const double lru_hit = allocs::per_call([&](int i) { return hit(a_lru, i); }, 20'000);
    const double simple_set = allocs::per_call([&](int i) { return a_simple.set(key(i), value); }, 20'000);
    const double ttl_set = allocs::per_call([&](int i) { return a_ttl.set(key(i), value); }, 20'000);
    const double lru_set = allocs::per_call([&](int i) {
      a_lru.set(key(i), value);
      return true;
    }, 20'000);
    std::snprintf(buf, sizeof buf,
                  "heap allocations per call (100 B values): get hit: SimpleCache %.3f, with TTL %.3f, locked LRU %.3f; "
                  "overwrite: %.3f, %.3f, %.3f",
                  simple_hit, ttl_hit, lru_hit, simple_set, ttl_set, lru_set);
    report.note(buf);
    report.ratio({"P4_allocs_per_hit", std::max(simple_hit, ttl_hit), 1.0, Better::lower,
                  "heap allocations per SimpleCache::get hit, with or without TTL (1 = the returned value only)"});
  } else {
    report.note("heap allocations not counted: this build has no allocation counter (sanitizers, or not glibc)");
  }

  struct Mix {
    const char* name;
    double set_fraction;
  };
  const Mix mixes[] = {{"90/10", 0.10}, {"70/30", 0.30}};
  std::vector<double> exponents = {0.7, 0.9, 0.99, 1.2};
  if (o.quick) exponents = {0.99};

  for (const auto& mix : mixes) {
    for (double s : exponents) {
      const bool headline = mix.set_fraction == 0.10 && s == 0.99;  // P4 and P7
      int max_threads = 1;
      for (int t : o.threads) max_threads = std::max(max_threads, t);
      std::vector<std::vector<Op>> traces;
      for (int t = 0; t < max_threads; ++t)
        traces.push_back(zipf_trace(trace_len, s, perm, mix.set_fraction, 1000 + 17 * t + static_cast<std::uint64_t>(s * 100)));
      const std::string workload = std::string("mem ") + mix.name + " zipf" + fmt_s(s);

      for (int threads : o.threads) {
        auto timed = [&](auto& cache, double seconds) {
          return [&, threads, seconds]() {
            return run_timed(threads, seconds, [&](int t, Gate& gate, const std::atomic<bool>& stop) {
              return run_trace(cache, traces[static_cast<std::size_t>(t)], keys, value, gate, stop);
            });
          };
        };
        auto contender = [&](auto& cache) { return timed(cache, o.seconds); };
        std::vector<std::function<Measurement()>> fns = {contender(simple), contender(lru)};
        if (headline) fns.push_back(contender(*ttl[0]));
        const auto samples = interleaved(o.rounds, fns);
        report.throughput(workload, "SimpleCache", threads, samples[0], "ops/s");
        report.throughput(workload, "LockedLRU", threads, samples[1], "ops/s");
        if (headline) {
          report.throughput(workload, "SimpleCache+TTL", threads, samples[2], "ops/s");
          const auto t = std::to_string(threads);
          if (threads == 1 || threads == 2) {
            // On a shared machine the threads may not get a core each; then
            // this is not a scaling measurement, and the table says so.
            Sample cores;
            cores.rates = samples[0].cores;
            std::string caveat;
            if (cores.median() < 0.8 * threads) {
              char c[96];
              std::snprintf(c, sizeof c, " [threads got only %.2f cores: not a valid scaling measurement]", cores.median());
              caveat = c;
              report.note("WARNING:" + caveat);
            }
            report.ratio({"P4_simple_" + t + "t_vs_lru_" + t + "t", paired_ratio(samples[0], samples[1]),
                          threads == 1 ? 1.5 : 4.0, Better::higher,
                          "SimpleCache / locked LRU, 90/10 Zipf 0.99, " + t + " thread(s)" + caveat});

            // Short runs: many quads in little time, and the same instant's
            // load on both sides of each. Each side gets one cold run (after
            // the other cache's) and one warm run per quad; ~10% of a cold
            // 20 ms run refills the CPU caches, which pulls ratios slightly
            // towards 1.
            const int quads = o.quick ? 20 : 40;
            const double kSlice = o.quick ? 0.01 : 0.02;
            Sample p7;
            for (std::size_t p = 0; p < kP7Pairs; ++p) {
              // Pair 1 is measured the other way round too (TTL cache as the
              // A side), so neither side always gets the same slot.
              if (p % 2 == 0) {
                const Sample q = abba(quads, timed(*nottl[p], kSlice), timed(*ttl[p], kSlice));
                p7.rates.insert(p7.rates.end(), q.rates.begin(), q.rates.end());
              } else {
                const Sample q = abba(quads, timed(*ttl[p], kSlice), timed(*nottl[p], kSlice));
                for (double r : q.rates) p7.rates.push_back(1.0 / r);
              }
            }
            const Sample twin = abba(quads, timed(*nottl[0], kSlice), timed(*nottl[1], kSlice));
            report.ratio({"P7_ttl_vs_nottl_" + t + "t", p7.median(), 0.9, Better::higher,
                          "SimpleCache all-TTL / no-TTL, same workload, " + t + " thread(s) (" +
                              std::to_string(p7.rates.size()) + " A-B-B-A quads over " + std::to_string(kP7Pairs) +
                              " cache pairs)"});
            report.info("P7_control_twin_" + t + "t", twin.median(),
                        "two identical no-TTL caches measured the same way: the noise floor of P7");
          }
        }
      }
    }
  }

  // P7, second half: expired entries are never returned.
  {
    SimpleCacheOptions opt = plain;
    opt.max_items = 50'000;
    SimpleCache cache(opt);
    const std::size_t n = 20'000;
    for (std::size_t i = 0; i < n; ++i) cache.set(keys[i], value, std::chrono::milliseconds(30));
    std::this_thread::sleep_for(std::chrono::milliseconds(60));
    std::size_t returned = 0;
    for (std::size_t i = 0; i < n; ++i) {
      if (cache.get(keys[i])) ++returned;
      if (cache.contains(keys[i])) ++returned;
    }
    const auto many = cache.get_many(std::vector<std::string>{std::string(keys[0]), std::string(keys[1])});
    for (const auto& v : many) returned += v.has_value();
    report.ratio({"P7_expired_returned", static_cast<double>(returned), 0, Better::lower,
                  "entries returned by get/contains/get_many after their 30 ms TTL (of 20000 + 2)"});
  }
}

}  // namespace cachet::bench
