// The Cluster suite: RedisCache over a 3-master Redis Cluster against raw
// hiredis sent straight to the node that owns each key (the slot computed
// with the same CRC16, the owner read from CLUSTER SLOTS) — C1 single-key
// get/set, C2 get_many(100) against single gets and against raw per-node
// pipelines issued the same way (node after node, each one pipelined).
#include <cachet/redis_cache.hpp>

#include <cstdio>
#include <map>
#include <memory>

#include "raw_redis.hpp"
#include "redis/crc16.hpp"
#include "suites.hpp"
#include "workload.hpp"

namespace cachet::bench {

void cluster_suite(const Options& o, Report& report) {
  report.section("Redis Cluster: RedisCache vs raw hiredis to the owning node, 3 masters (C1, C2)");
  constexpr const char* kPrefix = "bench:";
  const std::size_t nkeys = 30'000;
  const KeySet keys(nkeys);
  const KeySet raw_keys(nkeys, kPrefix);
  const std::string value = make_value(100, 2);

  RedisOptions ro = RedisOptions::from_url(o.cluster_url);
  ro.key_prefix = kPrefix;
  ro.default_timeout = Ttl::never();
  ro.pool_size = 1;
  ro.socket_timeout = std::chrono::milliseconds(2000);
  auto cache = std::make_unique<RedisCache>(ro);

  // Who owns which slot, and one raw connection per master.
  std::vector<int> owner_port(redis::kClusterSlots, 0);
  std::map<int, std::unique_ptr<RawRedis>> raw;
  {
    RawRedis seed(ro.nodes.front().host, ro.nodes.front().port);
    ReplyPtr slots = seed.command({"CLUSTER", "SLOTS"});
    for (std::size_t i = 0; i < slots->elements; ++i) {
      const redisReply* r = slots->element[i];
      const int port = static_cast<int>(r->element[2]->element[1]->integer);
      for (long long s = r->element[0]->integer; s <= r->element[1]->integer; ++s) owner_port[s] = port;
      if (!raw.count(port)) raw[port] = std::make_unique<RawRedis>(ro.nodes.front().host, port);
    }
  }
  std::vector<RawRedis*> owner(nkeys);
  for (std::size_t i = 0; i < nkeys; ++i) {
    owner[i] = raw[owner_port[static_cast<std::size_t>(redis::key_slot("", raw_keys[i]))]].get();
  }
  for (std::size_t i = 0; i < nkeys; ++i) owner[i]->set(raw_keys[i], value);
  char buf[160];
  std::snprintf(buf, sizeof buf, "%zu masters, %zu keys pre-filled (100 B values), uniform keys", raw.size(), nkeys);
  report.note(buf);

  const auto perm = scramble(nkeys, 0xC1);
  auto single = [&](bool is_set, bool use_cache, double seconds) {
    return [&, is_set, use_cache, seconds]() {
      return run_timed(1, seconds, [&](int, Gate& gate, const std::atomic<bool>& stop) {
        std::size_t i = 0;
        return gate.count(stop, [&](Counts& c) {
          const std::size_t id = perm[i];
          if (++i == nkeys) i = 0;
          if (is_set) {
            if (use_cache) cache->set(keys[id], value, Ttl::never());
            else owner[id]->set(raw_keys[id], value);
          } else {
            ++c.gets;
            c.hits += use_cache ? cache->get(keys[id]).has_value() : owner[id]->get(raw_keys[id]).has_value();
          }
          ++c.units;
        });
      });
    };
  };
  const int quads = o.quick ? 15 : 40;
  const double slice = o.quick ? 0.01 : 0.02;
  const std::string how = " (median of " + std::to_string(quads) + " A-B-B-A quads)";
  auto c1get = interleaved(o.rounds, {single(false, true, o.seconds), single(false, false, o.seconds)});
  report.throughput("cluster GET", "RedisCache", 1, c1get[0], "ops/s");
  report.throughput("cluster GET", "raw hiredis to owner", 1, c1get[1], "ops/s");
  report.ratio({"C1_get_vs_raw_owner", abba(quads, single(false, false, slice), single(false, true, slice)).median(), 0.9,
                Better::higher, "RedisCache::get on a cluster / raw GET to the owning node, 1 thread" + how});
  report.ratio({"C1_set_vs_raw_owner", abba(quads, single(true, false, slice), single(true, true, slice)).median(), 0.9,
                Better::higher, "RedisCache::set on a cluster / raw SET to the owning node, 1 thread" + how});

  // get_many of 100 keys spread over the masters.
  const std::size_t batch = 100, nbatches = 256;
  std::vector<Cache::KeyList> key_batches(nbatches);
  std::vector<std::map<RawRedis*, std::vector<std::string_view>>> raw_batches(nbatches);
  for (std::size_t b = 0; b < nbatches; ++b) {
    for (std::size_t j = 0; j < batch; ++j) {
      const std::size_t id = perm[(b * batch + j) % nkeys];
      key_batches[b].push_back(keys[id]);
      raw_batches[b][owner[id]].push_back(raw_keys[id]);
    }
  }
  auto many = [&](bool use_cache, double seconds) {
    return [&, use_cache, seconds]() {
      return run_timed(1, seconds, [&](int, Gate& gate, const std::atomic<bool>& stop) {
        std::vector<std::optional<std::string>> out;
        std::size_t b = 0;
        return gate.count(stop, [&](Counts& c) {
          std::size_t hits = 0;
          if (use_cache) {
            for (const auto& v : cache->get_many(key_batches[b])) hits += v.has_value();
          } else {
            for (auto& [node, ks] : raw_batches[b]) hits += node->pipelined_get(ks, out);
          }
          c.gets += batch;
          c.hits += hits;
          c.units += batch;
          if (++b == nbatches) b = 0;
        });
      });
    };
  };
  auto c2 = interleaved(o.rounds, {many(true, o.seconds), many(false, o.seconds)});
  report.throughput("cluster get_many(100)", "RedisCache", 1, c2[0], "keys/s");
  report.throughput("cluster get_many(100)", "raw per-node pipelines", 1, c2[1], "keys/s");
  report.ratio({"C2_get_many_vs_single_get", c2[0].center() / c1get[0].center(), 5.0, Better::higher,
                "RedisCache keys/s on a cluster: get_many(100) / single get"});
  report.ratio({"C2_get_many_vs_raw_pipelines", abba(quads, many(false, slice), many(true, slice)).median(), 0.8,
                Better::higher, "RedisCache::get_many(100) / raw per-node pipelines, node after node, keys/s" + how});
  if (const auto errors = cache->stats().errors) {
    report.note("WARNING: RedisCache reported " + std::to_string(errors) + " errors in the cluster suite");
  }
}

}  // namespace cachet::bench
