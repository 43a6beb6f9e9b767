// The hybrid suite: HybridCache (SimpleCache L1 over Redis, bcast) against a
// SimpleCache and a RedisCache in the same run (H1-H4, docs/benchmarks.md).
#include <cachet/hybrid_cache.hpp>
#include <cachet/redis_cache.hpp>
#include <cachet/simple_cache.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <memory>
#include <thread>

#include "optimal.hpp"
#include "raw_redis.hpp"
#include "suites.hpp"
#include "workload.hpp"

namespace cachet::bench {
namespace {

constexpr const char* kPrefix = "hbench:";
using Clock = std::chrono::steady_clock;

RedisOptions redis_options(const Options& o) {
  RedisOptions ro;
  ro.host = o.redis_host;
  ro.port = o.redis_port;
  ro.key_prefix = kPrefix;
  ro.default_timeout = Ttl::never();
  ro.pool_size = 1;
  ro.socket_timeout = std::chrono::milliseconds(2000);
  return ro;
}

struct Hybrid {
  std::shared_ptr<SimpleCache> l1;
  std::unique_ptr<HybridCache> cache;
};

Hybrid make_hybrid(const Options& o, std::size_t l1_items) {
  RedisOptions ro = redis_options(o);
  InvalidationOptions io;
  auto channel = redis_invalidation_channel(ro, io);
  SimpleCacheOptions so;
  so.max_items = l1_items;
  Hybrid h;
  h.l1 = std::make_shared<SimpleCache>(so);
  h.cache = std::make_unique<HybridCache>(h.l1, std::make_unique<RedisCache>(ro), std::move(channel));
  return h;
}

// One thread running `op(op_code)` over `trace` for `seconds`. Each call
// goes on where the previous one stopped, so that rounds together walk the
// whole trace (restarting at its first request would replay a few thousand
// requests, a far smaller working set than the trace's).
template <class Op_>
std::function<Measurement()> loop(const std::vector<Op>& trace, double seconds, Op_ op) {
  auto next = std::make_shared<std::size_t>(0);
  return [&trace, seconds, op, next]() {
    return run_timed(1, seconds, [&](int, Gate& gate, const std::atomic<bool>& stop) {
      std::size_t& i = *next;
      return gate.count(stop, [&](Counts& c) {
        const Op code = trace[i];
        if (++i == trace.size()) i = 0;
        const int r = op(code);  // 1 hit, 0 miss, -1 a set
        if (r >= 0) {
          ++c.gets;
          c.hits += static_cast<std::uint64_t>(r);
        }
        ++c.units;
      });
    });
  };
}

// The hit ratio of a SimpleCache of `capacity` items alone on `trace` (a get
// that misses stores the key; a set stores it), second pass: what the
// hybrid's L1 would answer if the echo of its own writes did not drop what
// they put there (docs/hybrid.md, "Numbers").
double unechoed_hit_ratio(const std::vector<Op>& trace, const KeySet& keys, const std::string& value,
                          std::size_t capacity) {
  SimpleCacheOptions so;
  so.max_items = capacity;
  SimpleCache alone(so);
  std::uint64_t gets = 0, found = 0;
  for (std::uint64_t pass = 0; pass < 2; ++pass) {
    for (const Op op : trace) {
      const auto k = keys[op_key(op)];
      if (op_is_set(op)) {
        alone.set(k, value, Ttl::never());
        continue;
      }
      gets += pass;
      if (alone.get(k)) {
        found += pass;
      } else {
        alone.set(k, value, Ttl::never());
      }
    }
  }
  return gets ? static_cast<double>(found) / static_cast<double>(gets) : 0;
}

double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const auto i = static_cast<std::size_t>(p * static_cast<double>(v.size() - 1));
  return v[i];
}

}  // namespace

void hybrid_suite(const Options& o, Report& report) {
  report.section("Hybrid: HybridCache (SimpleCache L1 over Redis, bcast) vs SimpleCache and RedisCache (H1-H4)");
  RawRedis admin(o.redis_host, o.redis_port);
  admin.command({"FLUSHALL"});
  const std::string value = make_value(100, 3);

  // --- H1, H2: an L1 hit against a SimpleCache hit and a RedisCache get ------
  const std::size_t hot = 1000;
  const KeySet hot_keys(hot);
  const auto hot_perm = scramble(hot, 0xA11);
  const std::vector<Op> hot_trace = zipf_trace(1 << 16, 0.99, hot_perm, 0.0, 5);
  auto hybrid = make_hybrid(o, 10'000);
  SimpleCache simple;
  RedisCache redis(redis_options(o));
  for (std::size_t i = 0; i < hot; ++i) {
    redis.set(hot_keys[i], value);
    simple.set(hot_keys[i], value, Ttl::never());
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(50));  // the echoes of those writes
  for (std::size_t i = 0; i < hot; ++i) hybrid.cache->get(hot_keys[i]);  // into L1
  auto l1_get = [&](Op op) { return hybrid.cache->get(hot_keys[op_key(op)]).has_value() ? 1 : 0; };
  auto simple_get = [&](Op op) { return simple.get(hot_keys[op_key(op)]).has_value() ? 1 : 0; };
  auto redis_get = [&](Op op) { return redis.get(hot_keys[op_key(op)]).has_value() ? 1 : 0; };
  const int quads = o.quick ? 15 : 40;
  const double slice = o.quick ? 0.01 : 0.02;
  auto hits = interleaved(o.rounds, {loop(hot_trace, o.seconds, l1_get), loop(hot_trace, o.seconds, simple_get),
                                     loop(hot_trace, o.seconds, redis_get)});
  report.throughput("get, 1,000 hot keys", "HybridCache (L1 hit)", 1, hits[0], "ops/s");
  report.throughput("get, 1,000 hot keys", "SimpleCache", 1, hits[1], "ops/s");
  report.throughput("get, 1,000 hot keys", "RedisCache", 1, hits[2], "ops/s");
  report.ratio({"H1_l1_hit_vs_simple",
                abba(quads, loop(hot_trace, slice, simple_get), loop(hot_trace, slice, l1_get)).median(), 0.8,
                Better::higher,
                "HybridCache L1 hit / SimpleCache hit, 1 thread (median of " + std::to_string(quads) + " A-B-B-A quads)"});
  report.ratio({"H2_l1_hit_vs_redis_get", paired_ratio(hits[0], hits[2]), 20.0, Better::higher,
                "HybridCache L1 hit / RedisCache get, 1 thread"});

  // --- H3: invalidation latency --------------------------------------------
  // A raw client overwrites a key the reader holds in L1; the time until the
  // reader's L1 no longer has it.
  {
    const int writes = o.quick ? 2000 : 10'000;
    auto reader = make_hybrid(o, 1000);
    RawRedis writer(o.redis_host, o.redis_port);
    const std::string key = "latency";
    const std::string raw_key = std::string(kPrefix) + key;
    std::vector<double> us;
    us.reserve(static_cast<std::size_t>(writes));
    int lost = 0;
    for (int i = 0; i < writes; ++i) {
      for (int tries = 0; tries < 1000 && !reader.l1->contains(key); ++tries) (void)reader.cache->get(key);
      const auto t0 = Clock::now();
      writer.set(raw_key, std::to_string(i));
      const auto deadline = t0 + std::chrono::seconds(1);
      while (reader.l1->contains(key) && Clock::now() < deadline) {
      }
      if (reader.l1->contains(key)) ++lost;
      us.push_back(std::chrono::duration<double, std::micro>(Clock::now() - t0).count());
    }
    char buf[200];
    std::snprintf(buf, sizeof buf, "invalidation latency over %d writes (raw SET -> gone from L1): p50 %.0f us, "
                  "p99 %.0f us, max %.0f us, %d not invalidated within 1 s",
                  writes, percentile(us, 0.5), percentile(us, 0.99), percentile(us, 1.0), lost);
    report.note(buf);
    report.value("invalidation latency p50", "HybridCache bcast", percentile(us, 0.5), "us");
    report.ratio({"H3_invalidation_p99_ms", percentile(us, 0.99) / 1000.0, 2.0, Better::lower,
                  "99th percentile of write -> L1 invalidation, loopback, ms"});
    report.ratio({"H3_invalidation_max_ms", percentile(us, 1.0) / 1000.0, 20.0, Better::lower,
                  "worst write -> L1 invalidation over the run, loopback, ms"});
  }

  // --- H4: Zipf 0.99, 95 % gets / 5 % sets, 100,000 keys, L1 of 10,000 ------
  // Every set and every L1 miss costs the round trip a RedisCache pays on
  // every request, so the speed-up is bounded by 1 / (set share + get share x
  // L1 miss ratio). Reported with it: that bound at the measured hit ratio
  // (what a free L1 would give), the share of it reached, and the bound at the
  // offline-optimal hit ratio of any 10,000-item cache on this trace.
  {
    const std::size_t nkeys = 100'000;
    const std::size_t l1_items = 10'000;
    const KeySet keys(nkeys);
    const auto perm = scramble(nkeys, 0xBEE5);
    const std::vector<Op> trace = zipf_trace(1 << 18, 0.99, perm, 0.05, 13);
    for (std::size_t i = 0; i < nkeys; i += 1000) {
      std::vector<std::pair<std::string_view, std::string_view>> batch;
      for (std::size_t j = i; j < i + 1000; ++j) batch.emplace_back(keys[j], value);
      redis.set_many(batch, Ttl::never());
    }
    auto mixed = make_hybrid(o, l1_items);
    auto hybrid_op = [&](Op op) {
      const auto k = keys[op_key(op)];
      if (op_is_set(op)) {
        (void)mixed.cache->set(k, value, Ttl::never());
        return -1;
      }
      return mixed.cache->get(k).has_value() ? 1 : 0;
    };
    auto redis_op = [&](Op op) {
      const auto k = keys[op_key(op)];
      if (op_is_set(op)) {
        (void)redis.set(k, value, Ttl::never());
        return -1;
      }
      return redis.get(k).has_value() ? 1 : 0;
    };
    for (const Op op : trace) hybrid_op(op);  // untimed: one pass brings L1 to its steady state
    const auto before = mixed.cache->hybrid_stats();
    auto zipf = interleaved(o.rounds, {loop(trace, o.seconds, hybrid_op), loop(trace, o.seconds, redis_op)});
    const auto after = mixed.cache->hybrid_stats();
    report.throughput("Zipf 0.99 95/5, 100k keys", "HybridCache (L1 10k)", 1, zipf[0], "ops/s");
    report.throughput("Zipf 0.99 95/5, 100k keys", "RedisCache", 1, zipf[1], "ops/s");
    const double l1 = static_cast<double>(after.l1_hits - before.l1_hits);
    const double all = l1 + static_cast<double>(after.l2_hits - before.l2_hits) +
                       static_cast<double>(after.misses - before.misses);
    const double hit = all > 0 ? l1 / all : 0;
    const double sets = static_cast<double>(std::count_if(trace.begin(), trace.end(), op_is_set)) /
                        static_cast<double>(trace.size());
    auto bound = [sets](double hit_ratio) { return 1.0 / (sets + (1.0 - sets) * (1.0 - hit_ratio)); };
    const double ratio = paired_ratio(zipf[0], zipf[1]);
    const double best = optimal_hit_ratio(trace, l1_items);
    const double unechoed = unechoed_hit_ratio(trace, keys, value, l1_items);
    report.info("H4_l1_hit_ratio", hit, "share of HybridCache gets answered by L1 (Zipf 0.99 95/5, steady state)");
    report.info("H4_zipf_hybrid_vs_redis", ratio,
                "HybridCache / RedisCache throughput, Zipf 0.99, 95 % gets, 1 thread (issue #15 expected >= 10; "
                "H4_optimal_l1_bound is the most any L1 of 10,000 items allows)");
    report.info("H4_l1_hit_ratio_unechoed", unechoed,
                "the L1 alone on this trace with sets stored and not echoed back (the cost of the echo)");
    report.info("H4_round_trip_bound", bound(hit), "1 / (set share + get share x L1 miss ratio): the ratio of an L1 "
                                                   "costing nothing, at the measured hit ratio");
    report.info("H4_optimal_l1_bound", bound(best),
                "the same bound at the offline-optimal hit ratio of a 10,000-item cache on this trace (" +
                    std::to_string(best).substr(0, 5) + ")");
    report.ratio({"H4_share_of_round_trip_bound", ratio / bound(hit), 0.8, Better::higher,
                  "H4_zipf_hybrid_vs_redis / H4_round_trip_bound: what the hybrid costs beyond its round trips"});
  }
}

}  // namespace cachet::bench
