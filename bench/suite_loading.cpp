// The loading suite (docs/loading.md): what LoadOptions cost on a hit, and
// whether eager refresh keeps a hot key's callers from ever waiting for the
// loader. On SimpleCache, so that the numbers are the loading code's own.
#include <cachet/simple_cache.hpp>

#include <algorithm>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "suites.hpp"

namespace cachet::bench {
namespace {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

// get_or_set's hit path before it took LoadOptions, as it was written then:
// get(), and the value moved out of the optional into the returned string.
[[gnu::noinline]] std::string get_or_set_before_options(Cache& cache, std::string_view key) {
  if (auto hit = cache.get(key)) return std::move(*hit);
  return std::string();
}

// Hits on one key for `seconds`: `use_options` picks get_or_set with every
// option off, else the hit path get_or_set had before options.
std::function<Measurement()> hits(Cache& cache, bool use_options, double seconds) {
  return [&cache, use_options, seconds] {
    return run_timed(1, seconds, [&](int, Gate& gate, const std::atomic<bool>& stop) {
      std::uint64_t bytes = 0;
      const LoadOptions off;
      const Counts counts = gate.count(stop, [&](Counts& c) {
        for (int j = 0; j < 64; ++j) {
          if (use_options) {
            bytes += cache.get_or_set("hot", [] { return std::string("never loaded"); }, off).size();
          } else {
            bytes += get_or_set_before_options(cache, "hot").size();
          }
        }
        c.units += 64;
      });
      g_sink.fetch_add(bytes, std::memory_order_relaxed);
      return counts;
    });
  };
}

struct Latencies {
  std::vector<double> us;  // every call, microseconds
  double p99() {
    if (us.empty()) return 0;
    const auto k = static_cast<std::size_t>(0.99 * static_cast<double>(us.size() - 1));
    std::nth_element(us.begin(), us.begin() + static_cast<std::ptrdiff_t>(k), us.end());
    return us[k];
  }
};

// Two threads read through `read` for `duration`, timing every call.
template <class Read>
Latencies two_readers(std::chrono::milliseconds duration, Read read) {
  Latencies all;
  std::vector<Latencies> per(2);
  std::vector<std::thread> threads;
  const auto end = Clock::now() + duration;
  for (int t = 0; t < 2; ++t) {
    threads.emplace_back([&, t] {
      auto& mine = per[static_cast<std::size_t>(t)];
      mine.us.reserve(1 << 20);
      while (Clock::now() < end) {
        const auto t0 = Clock::now();
        read();
        const auto dt = Clock::now() - t0;
        mine.us.push_back(std::chrono::duration<double, std::micro>(dt).count());
      }
    });
  }
  for (auto& th : threads) th.join();
  for (auto& p : per) {
    all.us.insert(all.us.end(), p.us.begin(), p.us.end());
  }
  return all;
}

}  // namespace

void loading_suite(const Options& o, Report& report) {
  report.section("Loading: LoadOptions on a hit, eager refresh on a hot key (SimpleCache)");

  // 1. Everything off: get_or_set with LoadOptions against a plain get().
  SimpleCacheOptions so;
  so.default_timeout = Ttl::never();
  SimpleCache cache(so);
  cache.set("hot", std::string(100, 'v'));
  const double slice = o.quick ? 0.01 : 0.02;
  const Sample overhead = abba(o.quick ? 20 : 40, hits(cache, false, slice), hits(cache, true, slice));
  report.ratio({"L1_get_or_set_options_vs_before", overhead.median(), 0.95, Better::higher,
                "get_or_set(key, loader, LoadOptions{}) / the hit path get_or_set had before options "
                "(get() + move), SimpleCache hit, 1 thread"});

  // 2. A hot key, ttl 100 ms, loader 20 ms, two readers.
  const auto duration = o.quick ? 1000ms : 5000ms;
  static constexpr auto kLoader = 20ms;
  auto loader = [] {
    std::this_thread::sleep_for(kLoader);
    return std::string(100, 'v');
  };
  LoadOptions eager;
  eager.ttl = 100ms;
  eager.eager_refresh = 0.5;
  LoadOptions plain;
  plain.ttl = 100ms;

  SimpleCache hit_cache(so);
  hit_cache.set("hot", std::string(100, 'v'));
  Latencies hit = two_readers(duration, [&] { g_sink += hit_cache.get("hot")->size(); });
  // A caller waits for the loader exactly when get_or_set finds no fresh value
  // (a miss): the misses during the run count the callers that waited.
  SimpleCache eager_cache(so);
  eager_cache.get_or_set("hot", loader, eager);
  const auto eager_misses = eager_cache.stats().misses;
  Latencies with = two_readers(duration, [&] { g_sink += eager_cache.get_or_set("hot", loader, eager).size(); });
  const auto eager_waited = eager_cache.stats().misses - eager_misses;
  SimpleCache plain_cache(so);
  plain_cache.get_or_set("hot", loader, plain);
  const auto plain_misses = plain_cache.stats().misses;
  Latencies without = two_readers(duration, [&] { g_sink += plain_cache.get_or_set("hot", loader, plain).size(); });
  const auto plain_waited = plain_cache.stats().misses - plain_misses;

  const double hit_p99 = hit.p99();
  const double eager_p99 = with.p99();
  const double plain_p99 = without.p99();
  report.value("L2_hit_p99", "get() hit, 2 threads", hit_p99, "us");
  report.value("L2_eager_p99", "get_or_set, eager 0.5, ttl 100 ms, loader 20 ms, 2 threads", eager_p99, "us");
  report.value("L2_no_eager_p99", "get_or_set, no eager refresh, same key", plain_p99, "us");
  report.ratio({"L2_eager_p99_vs_hit_p99", eager_p99 / std::max(hit_p99, 0.001), 2.0, Better::lower,
                "p99 latency of get_or_set on a hot key with eager refresh / p99 of a plain hit"});
  report.ratio({"L2_eager_callers_waited", static_cast<double>(eager_waited), 0, Better::lower,
                "calls that waited for the loader (found no fresh value) with eager refresh, of " +
                    std::to_string(with.us.size())});
  report.info("L2_no_eager_callers_waited", static_cast<double>(plain_waited),
              "the same without eager refresh, of " + std::to_string(without.us.size()) + " calls");
}

}  // namespace cachet::bench
