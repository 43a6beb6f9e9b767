// Metrics: the Prometheus text (byte for byte, escaping, histograms), latency
// snapshots and their sampling, MetricsRegistry (also under concurrent
// add/remove/scrape), CacheObserver, and `promtool check metrics` on the
// output of every backend.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <memory>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "cachet/cachet.hpp"
#include "support/net.hpp"
#include "support/redis_server.hpp"

using namespace std::chrono_literals;
using cachet::BreakerState;
using cachet::Cache;
using cachet::LatencySnapshot;
using cachet::MetricsRegistry;
using cachet::MetricsWriter;
using cachet::Op;
using cachet::OpOutcome;

namespace {

const char* const kLe[] = {"1e-06", "2e-06", "5e-06", "1e-05", "2e-05", "5e-05", "0.0001", "0.0002",
                           "0.0005", "0.001", "0.002", "0.005", "0.01",  "0.02",  "0.05",   "0.1",
                           "0.2",   "0.5",   "1",     "2",     "5",     "10"};

// The lines of `text` that start with `prefix`.
std::vector<std::string> lines_starting(const std::string& text, const std::string& prefix) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (line.rfind(prefix, 0) == 0) out.push_back(line);
  }
  return out;
}

double value_of(const std::string& line) { return std::stod(line.substr(line.rfind(' ') + 1)); }

cachet::RedisOptions dead_redis(cachet::ErrorPolicy policy) {
  cachet::RedisOptions o;
  o.host = "127.0.0.1";
  o.port = cachet::test::free_loopback_port();
  o.connect_timeout = 200ms;
  o.socket_timeout = 200ms;
  o.on_error = policy;
  return o;
}

std::unique_ptr<cachet::FallbackCache> fallback_over(cachet::RedisOptions o, cachet::FallbackOptions f) {
  o.on_error = cachet::ErrorPolicy::Throw;
  f.cooldown = 1h;
  f.max_cooldown = 1h;
  return std::make_unique<cachet::FallbackCache>(std::make_unique<cachet::RedisCache>(std::move(o)),
                                                 std::make_unique<cachet::SimpleCache>(), std::move(f));
}

}  // namespace

TEST(MetricsWriter, TextByteForByte) {
  MetricsWriter w;
  w.begin_cache("c1", "simple");
  w.counter("cachet_hits_total", "Hits.", 3);
  w.gauge("cachet_items", "Items held.", 2.5);
  w.counter("cachet_errors_total", "Errors by kind.", 1, {{"kind", "timeout"}});
  w.begin_cache("c2", "redis");
  w.counter("cachet_hits_total", "Hits.", 0);
  LatencySnapshot h;
  h.buckets[0] = 1;
  h.buckets[2] = 2;
  h.buckets[cachet::kLatencyBuckets] = 1;
  h.sum_seconds = 11.5;
  w.histogram("x_seconds", "Latency \\ in\nseconds.", h, {{"op", "get"}});

  std::string want =
      "# HELP cachet_hits_total Hits.\n"
      "# TYPE cachet_hits_total counter\n"
      "cachet_hits_total{cache=\"c1\",backend=\"simple\"} 3\n"
      "cachet_hits_total{cache=\"c2\",backend=\"redis\"} 0\n"
      "# HELP cachet_items Items held.\n"
      "# TYPE cachet_items gauge\n"
      "cachet_items{cache=\"c1\",backend=\"simple\"} 2.5\n"
      "# HELP cachet_errors_total Errors by kind.\n"
      "# TYPE cachet_errors_total counter\n"
      "cachet_errors_total{cache=\"c1\",backend=\"simple\",kind=\"timeout\"} 1\n"
      "# HELP x_seconds Latency \\\\ in\\nseconds.\n"
      "# TYPE x_seconds histogram\n";
  const int cumulative[] = {1, 1, 3};
  for (std::size_t i = 0; i < cachet::kLatencyBuckets; ++i) {
    want += std::string("x_seconds_bucket{cache=\"c2\",backend=\"redis\",op=\"get\",le=\"") + kLe[i] + "\"} " +
            std::to_string(i < 3 ? cumulative[i] : 3) + "\n";
  }
  want +=
      "x_seconds_bucket{cache=\"c2\",backend=\"redis\",op=\"get\",le=\"+Inf\"} 4\n"
      "x_seconds_sum{cache=\"c2\",backend=\"redis\",op=\"get\"} 11.5\n"
      "x_seconds_count{cache=\"c2\",backend=\"redis\",op=\"get\"} 4\n";
  EXPECT_EQ(w.text(), want);
}

TEST(MetricsWriter, RejectsInvalidNamesAndTypeClashes) {
  MetricsWriter w;
  w.begin_cache("c", "simple");
  EXPECT_THROW(w.counter("cachet_hits", "no _total", 1), std::invalid_argument);
  EXPECT_THROW(w.gauge("1bad", "starts with a digit", 1), std::invalid_argument);
  EXPECT_THROW(w.gauge("ok_name", "bad label", 1, {{"bad-label", "x"}}), std::invalid_argument);
  w.gauge("cachet_thing", "A gauge.", 1);
  EXPECT_THROW(w.counter("cachet_thing", "now a counter", 1), std::invalid_argument);
}

TEST(PrometheusText, CountersOfACacheByteForByte) {
  cachet::SimpleCache cache;
  cache.set_metrics_enabled(false);  // no timing: the whole text is deterministic
  ASSERT_TRUE(cache.set("a", "1"));
  ASSERT_TRUE(cache.set("b", "22"));
  ASSERT_TRUE(cache.get("a"));
  ASSERT_FALSE(cache.get("x"));
  ASSERT_TRUE(cache.remove("a"));

  const std::string l = "{cache=\"main\",backend=\"simple\"}";
  const std::string want =
      "# HELP cachet_hits_total Lookups (get, get_many, get_or_set) that found an entry.\n"
      "# TYPE cachet_hits_total counter\n"
      "cachet_hits_total" + l + " 1\n"
      "# HELP cachet_misses_total Lookups that found nothing, failed lookups included.\n"
      "# TYPE cachet_misses_total counter\n"
      "cachet_misses_total" + l + " 1\n"
      "# HELP cachet_sets_total Entries stored by set, add, set_many and get_or_set.\n"
      "# TYPE cachet_sets_total counter\n"
      "cachet_sets_total" + l + " 2\n"
      "# HELP cachet_removes_total Entries removed by remove and remove_many.\n"
      "# TYPE cachet_removes_total counter\n"
      "cachet_removes_total" + l + " 1\n"
      "# HELP cachet_evictions_total Entries dropped to respect max_items or max_bytes.\n"
      "# TYPE cachet_evictions_total counter\n"
      "cachet_evictions_total" + l + " 0\n"
      "# HELP cachet_expirations_total Expired entries reclaimed.\n"
      "# TYPE cachet_expirations_total counter\n"
      "cachet_expirations_total" + l + " 0\n";
  const std::string text = cachet::prometheus_text(cache, "main");
  EXPECT_EQ(text.substr(0, want.size()), want);

  // Every family is there, zeros included.
  for (const char* kind : {"connection", "timeout", "protocol", "reply", "pool_exhausted"}) {
    EXPECT_NE(text.find(std::string("cachet_errors_total{cache=\"main\",backend=\"simple\",kind=\"") + kind +
                        "\"} 0\n"),
              std::string::npos)
        << kind;
  }
  EXPECT_NE(text.find("cachet_items" + l + " 1\n"), std::string::npos);
  EXPECT_NE(text.find("cachet_bytes" + l + " 3\n"), std::string::npos);
  EXPECT_NE(text.find("cachet_stale_served_total" + l + " 0\n"), std::string::npos);
  EXPECT_NE(text.find("cachet_lock_timeouts_total" + l + " 0\n"), std::string::npos);
  EXPECT_NE(text.find("cachet_operations_total{cache=\"main\",backend=\"simple\",op=\"load\"} 0\n"),
            std::string::npos);
  EXPECT_NE(text.find("cachet_operation_duration_seconds_count{cache=\"main\",backend=\"simple\",op=\"get\"} 0\n"),
            std::string::npos);
  EXPECT_EQ(text.find("cachet_breaker_state"), std::string::npos);  // no breaker here
}

TEST(PrometheusText, EscapesTheCacheName) {
  cachet::NullCache cache;
  const std::string text = cachet::prometheus_text(cache, "a\"b\\c\nd");
  EXPECT_NE(text.find("cachet_hits_total{cache=\"a\\\"b\\\\c\\nd\",backend=\"null\"} 0\n"), std::string::npos)
      << text.substr(0, 400);
  // Every line is a comment or a sample: the newline in the name did not split one.
  for (const auto& line : lines_starting(text, "")) {
    EXPECT_TRUE(line.rfind("# ", 0) == 0 || line.rfind("cachet_", 0) == 0) << line;
  }
}

TEST(PrometheusText, HistogramsAreCumulativeAndCountMatchesInf) {
  cachet::SimpleCache cache;
  ASSERT_TRUE(cache.set("k", "v"));
  for (int i = 0; i < 5000; ++i) cache.get(i % 2 ? "k" : "missing");
  const std::string text = cachet::prometheus_text(cache, "h");
  const std::string series = "{cache=\"h\",backend=\"simple\",op=\"get\"";
  auto buckets = lines_starting(text, "cachet_operation_duration_seconds_bucket" + series);
  ASSERT_EQ(buckets.size(), cachet::kLatencyBuckets + 1);
  double previous = 0;
  for (const auto& b : buckets) {
    EXPECT_GE(value_of(b), previous) << b;
    previous = value_of(b);
  }
  EXPECT_NE(buckets.back().find("le=\"+Inf\""), std::string::npos);
  const auto count = lines_starting(text, "cachet_operation_duration_seconds_count" + series);
  const auto sum = lines_starting(text, "cachet_operation_duration_seconds_sum" + series);
  ASSERT_EQ(count.size(), 1u);
  ASSERT_EQ(sum.size(), 1u);
  EXPECT_EQ(value_of(count[0]), previous);
  EXPECT_GT(previous, 0);
  EXPECT_GT(value_of(sum[0]), 0);
  EXPECT_LT(value_of(sum[0]), 60.0);  // 5000 in-memory gets take nowhere near a minute
  const auto calls = lines_starting(text, "cachet_operations_total" + series);
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(value_of(calls[0]), 5000);
}

TEST(Latency, CallsExactCountEstimatesThem) {
  cachet::SimpleCache cache;
  ASSERT_TRUE(cache.set("k", "v"));
  constexpr int kGets = 200'000;
  for (int i = 0; i < kGets; ++i) cache.get("k");
  const LatencySnapshot s = cache.latency(Op::get);
  EXPECT_EQ(s.calls, static_cast<std::uint64_t>(kGets));
  std::uint64_t total = 0;
  for (auto b : s.buckets) total += b;
  EXPECT_EQ(total, s.count);
  // Each timed call stands for its sampling period: the estimate is close to the calls.
  EXPECT_GT(s.count, kGets * 8 / 10);
  EXPECT_LT(s.count, kGets * 12 / 10);
  EXPECT_GT(s.max_seconds, 0);
  EXPECT_GT(s.p50(), 0);
  EXPECT_LE(s.p50(), s.p99());
  EXPECT_LE(s.p99(), s.max_seconds);
  EXPECT_EQ(cache.latency(Op::set).calls, 1u);
}

TEST(Latency, QuantilesInterpolateInsideTheBucketAndStopAtMax) {
  LatencySnapshot s;
  s.buckets[9] = 100;  // (0.5 ms, 1 ms]
  s.count = 100;
  s.max_seconds = 0.0009;
  EXPECT_NEAR(s.p50(), 0.00075, 1e-12);
  EXPECT_NEAR(s.p90(), 0.0009, 1e-12);  // 0.00095 interpolated, capped at max
  EXPECT_NEAR(s.quantile(0.1), 0.00055, 1e-12);
  EXPECT_THROW(s.quantile(1.5), std::invalid_argument);
  EXPECT_EQ(LatencySnapshot{}.p99(), 0.0);
}

TEST(Latency, DisabledCountsNothing) {
  cachet::SimpleCache cache;
  cache.set_metrics_enabled(false);
  EXPECT_FALSE(cache.metrics_enabled());
  cache.get("k");
  EXPECT_EQ(cache.latency(Op::get).calls, 0u);
  EXPECT_EQ(cache.stats().misses, 1u);  // stats() counts regardless
  cache.set_metrics_enabled(true);
  cache.get("k");
  EXPECT_EQ(cache.latency(Op::get).calls, 1u);
}

TEST(Latency, LoaderAndGetOrSetAreTimed) {
  cachet::SimpleCache cache;
  cache.get_or_set("k", [] {
    std::this_thread::sleep_for(3ms);
    return std::string("v");
  });
  cache.get_or_set("k", [] { return std::string("never"); });
  const auto load = cache.latency(Op::load);
  EXPECT_EQ(load.calls, 1u);
  EXPECT_GE(load.max_seconds, 0.003);
  EXPECT_EQ(cache.latency(Op::get_or_set).calls, 2u);
}

// ---- registry ----------------------------------------------------------------

TEST(MetricsRegistry, OneBlockPerFamilyOneSeriesPerCacheSortedByName) {
  cachet::SimpleCache a;
  cachet::NullCache b;
  MetricsRegistry r;
  r.add("zeta", a);
  r.add("alpha", b);
  EXPECT_THROW(r.add("alpha", a), std::invalid_argument);
  const std::string text = r.prometheus_text();
  EXPECT_EQ(lines_starting(text, "# TYPE cachet_hits_total ").size(), 1u);
  const auto hits = lines_starting(text, "cachet_hits_total{");
  ASSERT_EQ(hits.size(), 2u);
  EXPECT_EQ(hits[0], "cachet_hits_total{cache=\"alpha\",backend=\"null\"} 0");
  EXPECT_EQ(hits[1], "cachet_hits_total{cache=\"zeta\",backend=\"simple\"} 0");
  r.remove("zeta");
  r.remove("not there");
  EXPECT_EQ(lines_starting(r.prometheus_text(), "cachet_hits_total{").size(), 1u);
}

TEST(MetricsRegistry, EmptyRegistryStillListsTheFamilies) {
  MetricsRegistry r;
  const std::string text = r.prometheus_text();
  EXPECT_EQ(lines_starting(text, "# TYPE cachet_hits_total counter").size(), 1u);
  EXPECT_EQ(lines_starting(text, "# TYPE cachet_operation_duration_seconds histogram").size(), 1u);
  EXPECT_TRUE(lines_starting(text, "cachet_").empty());
}

TEST(MetricsRegistry, ACacheDestroyedWithoutRemoveIsSkippedNotRead) {
  MetricsRegistry r;
  auto cache = std::make_unique<cachet::SimpleCache>();
  cachet::SimpleCache kept;
  r.add("gone", *cache);
  r.add("kept", kept);
  cache.reset();  // forgot remove(): logged; under ASan, reading it would be reported
  const std::string text = r.prometheus_text();
  EXPECT_EQ(text.find("cache=\"gone\""), std::string::npos);
  EXPECT_NE(text.find("cache=\"kept\""), std::string::npos);
  r.remove("gone");
  r.remove("kept");
}

TEST(MetricsRegistry, ConcurrentAddRemoveAndScrape) {
  MetricsRegistry r;
  cachet::SimpleCache shared;
  r.add("shared", shared);
  std::atomic<bool> stop{false};
  std::atomic<int> scrapes{0};
  std::thread scraper([&] {
    while (!stop.load()) {
      const std::string text = r.prometheus_text();
      EXPECT_NE(text.find("cache=\"shared\""), std::string::npos);
      scrapes.fetch_add(1);
    }
  });
  std::vector<std::thread> workers;
  for (int t = 0; t < 3; ++t) {
    workers.emplace_back([&, t] {
      for (int i = 0; i < 150; ++i) {
        cachet::SimpleCache c;
        const std::string name = "w" + std::to_string(t) + "-" + std::to_string(i);
        r.add(name, c);
        c.set("k", "v");
        c.get("k");
        shared.get("k");
        r.remove(name);
      }
    });
  }
  for (auto& w : workers) w.join();
  stop.store(true);
  scraper.join();
  EXPECT_GT(scrapes.load(), 0);
  const auto hits = lines_starting(r.prometheus_text(), "cachet_hits_total{");
  ASSERT_EQ(hits.size(), 1u);
  EXPECT_EQ(hits[0].rfind("cachet_hits_total{cache=\"shared\"", 0), 0u);
  r.remove("shared");
}

// ---- observer ----------------------------------------------------------------

namespace {

struct Recorder : cachet::CacheObserver {
  std::mutex mu;
  std::vector<std::pair<Op, OpOutcome>> ops;
  std::vector<std::pair<cachet::ErrorKind, std::string>> errors;
  std::vector<std::pair<BreakerState, BreakerState>> changes;
  std::uint64_t evicted = 0;
  std::function<void(const Cache&)> on_evict_callback;

  void on_operation(const Cache&, Op op, OpOutcome outcome, std::chrono::nanoseconds d) override {
    EXPECT_GE(d.count(), 0);
    std::lock_guard<std::mutex> lock(mu);
    ops.emplace_back(op, outcome);
  }
  void on_error(const Cache&, cachet::ErrorKind kind, std::string_view endpoint) override {
    std::lock_guard<std::mutex> lock(mu);
    errors.emplace_back(kind, std::string(endpoint));
  }
  void on_breaker_state(const Cache&, BreakerState from, BreakerState to) override {
    std::lock_guard<std::mutex> lock(mu);
    changes.emplace_back(from, to);
  }
  void on_evictions(const Cache& cache, std::uint64_t n) override {
    if (on_evict_callback) on_evict_callback(cache);
    std::lock_guard<std::mutex> lock(mu);
    evicted += n;
  }
};

struct Thrower : cachet::CacheObserver {
  void on_operation(const Cache&, Op, OpOutcome, std::chrono::nanoseconds) override {
    throw std::runtime_error("observer failure");
  }
  void on_evictions(const Cache&, std::uint64_t) override { throw 42; }
};

}  // namespace

TEST(CacheObserver, SeesOperationsWithTheirOutcomes) {
  cachet::SimpleCache cache;
  auto rec = std::make_shared<Recorder>();
  cache.set_observer(rec);
  cache.set("a", "1");
  cache.get("a");
  cache.get("b");
  cache.add("a", "2");
  cache.remove("b");
  cache.increment("n");
  cache.contains("a");  // not reported
  cache.set_observer(nullptr);
  cache.get("a");  // not reported either
  const std::vector<std::pair<Op, OpOutcome>> want = {
      {Op::set, OpOutcome::ok},    {Op::get, OpOutcome::hit},         {Op::get, OpOutcome::miss},
      {Op::add, OpOutcome::rejected}, {Op::remove, OpOutcome::rejected}, {Op::increment, OpOutcome::ok}};
  EXPECT_EQ(rec->ops, want);
}

TEST(CacheObserver, EvictionBatchesReportedOutsideTheCacheLocks) {
  cachet::SimpleCacheOptions o;
  o.max_items = 8;
  o.shards = 1;
  cachet::SimpleCache cache(o);
  auto rec = std::make_shared<Recorder>();
  // Calling back into the cache would deadlock if the shard's lock were held.
  rec->on_evict_callback = [](const Cache& c) { const_cast<Cache&>(c).contains("k0"); };
  cache.set_observer(rec);
  for (int i = 0; i < 100; ++i) cache.set("k" + std::to_string(i), "v");
  EXPECT_GT(rec->evicted, 0u);
  EXPECT_EQ(rec->evicted, cache.stats().evictions);
}

TEST(CacheObserver, AThrowingObserverNeverBreaksTheCache) {
  cachet::SimpleCacheOptions o;
  o.max_items = 4;
  o.shards = 1;
  cachet::SimpleCache cache(o);
  cache.set_observer(std::make_shared<Thrower>());
  for (int i = 0; i < 20; ++i) EXPECT_TRUE(cache.set("k" + std::to_string(i), "v"));
  EXPECT_EQ(cache.get("k19"), std::optional<std::string>("v"));
  EXPECT_EQ(cache.get_or_set("x", [] { return std::string("loaded"); }), "loaded");
}

TEST(CacheObserver, RedisFailureGivesKindEndpointAndErrorOutcome) {
  auto o = dead_redis(cachet::ErrorPolicy::FailOpen);
  const std::string endpoint = "127.0.0.1:" + std::to_string(o.port);
  cachet::RedisCache cache(o);
  auto rec = std::make_shared<Recorder>();
  cache.set_observer(rec);
  EXPECT_FALSE(cache.get("k"));
  ASSERT_EQ(rec->errors.size(), 1u);
  EXPECT_EQ(rec->errors[0].first, cachet::ErrorKind::connection);
  EXPECT_EQ(rec->errors[0].second, endpoint);
  ASSERT_EQ(rec->ops.size(), 1u);
  EXPECT_EQ(rec->ops[0], std::make_pair(Op::get, OpOutcome::error));
}

TEST(CacheObserver, BreakerStateChanges) {
  cachet::FallbackOptions f;
  f.failure_threshold = 1;
  auto cache = fallback_over(dead_redis(cachet::ErrorPolicy::Throw), f);
  auto rec = std::make_shared<Recorder>();
  cache->set_observer(rec);
  cache->get("k");  // the primary fails: the breaker opens, the secondary answers
  ASSERT_EQ(cache->state(), BreakerState::open);
  std::lock_guard<std::mutex> lock(rec->mu);
  ASSERT_EQ(rec->changes.size(), 1u);
  EXPECT_EQ(rec->changes[0], std::make_pair(BreakerState::closed, BreakerState::open));
  EXPECT_EQ(rec->errors.size(), 1u);  // the primary's failure, counted by the fallback (no endpoint)
}

// ---- promtool ------------------------------------------------------------------

namespace {

// `promtool check metrics` on `text`: its exit status and output.
std::pair<int, std::string> promtool_check(const std::string& text) {
  char path[] = "/tmp/cachet-metrics-XXXXXX";
  const int fd = mkstemp(path);
  if (fd < 0) return {-1, "mkstemp failed"};
  close(fd);
  std::ofstream(path) << text;
  const std::string cmd = std::string("promtool check metrics < ") + path + " 2>&1";
  std::string out;
  FILE* p = popen(cmd.c_str(), "r");
  if (p == nullptr) return {-1, "popen failed"};
  char buf[512];
  while (fgets(buf, sizeof buf, p) != nullptr) out += buf;
  const int status = pclose(p);
  std::remove(path);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

bool have_promtool() { return std::system("command -v promtool >/dev/null 2>&1") == 0; }

#define REQUIRE_PROMTOOL()                                                                         \
  do {                                                                                             \
    if (!have_promtool()) FAIL() << "promtool not found: install Debian's prometheus (./tests/run does)"; \
  } while (0)

}  // namespace

TEST(Promtool, AcceptsEveryBackend) {
  REQUIRE_PROMTOOL();
  REQUIRE_REDIS();
  cachet::test::RedisServer server;
  auto ro = cachet::RedisOptions::from_url(server.url());
  ro.key_prefix = cachet::test::unique_prefix();
  cachet::RedisCache redis(ro);
  redis.set("k", "v");
  redis.get("k");
  redis.get("nope");

  cachet::SimpleCache simple;
  simple.set("k", "v");
  simple.get("k");
  simple.get_or_set("l", [] { return std::string("v"); });
  cachet::NullCache null;

  cachet::FallbackOptions f;
  f.start_open = true;
  f.probe_immediately_when_started_open = false;
  auto open_fallback = fallback_over(dead_redis(cachet::ErrorPolicy::Throw), f);
  open_fallback->set("k", "v");
  ASSERT_EQ(open_fallback->state(), BreakerState::open);
  auto closed_fallback = fallback_over(ro, cachet::FallbackOptions{});
  closed_fallback->get("k");

  const std::vector<std::pair<std::string, const Cache*>> caches = {
      {"redis", &redis}, {"simple \"quoted\\\n\"", &simple}, {"null", &null},
      {"fallback-open", open_fallback.get()}, {"fallback-closed", closed_fallback.get()}};
  MetricsRegistry registry;
  for (const auto& [name, cache] : caches) {
    const std::string text = cachet::prometheus_text(*cache, name);
    const auto [status, out] = promtool_check(text);
    EXPECT_EQ(status, 0) << name << ": " << out;
    EXPECT_EQ(out, "") << name;
    registry.add(name, *cache);
  }
  const std::string all = registry.prometheus_text();
  EXPECT_NE(all.find("cachet_breaker_state{cache=\"fallback-open\",backend=\"fallback\"} 1\n"), std::string::npos);
  EXPECT_NE(all.find("cachet_breaker_state{cache=\"fallback-closed\",backend=\"fallback\"} 0\n"), std::string::npos);
  EXPECT_NE(all.find("cachet_redis_roundtrip_seconds_count{cache=\"redis\",backend=\"redis\"} 3\n"), std::string::npos);
  const auto [status, out] = promtool_check(all);
  EXPECT_EQ(status, 0) << out;
  EXPECT_EQ(out, "");
  const auto [empty_status, empty_out] = promtool_check(MetricsRegistry().prometheus_text());
  EXPECT_EQ(empty_status, 0) << empty_out;
  for (const auto& [name, cache] : caches) registry.remove(name);
}
