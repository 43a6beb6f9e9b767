// The TLS suite: RedisCache over TLS against a raw OpenSSL + hiredis-reader
// loop on the same TLS server (get, set, get_many of 100), and what a new
// connection costs over TLS next to plain TCP. The server and its throw-away
// certificates come from the tests' harness.
#include <cachet/redis_cache.hpp>

#include <chrono>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "raw_tls.hpp"
#include "suites.hpp"
#include "support/redis_server.hpp"
#include "support/tls_certs.hpp"
#include "workload.hpp"

namespace cachet::bench {
namespace {

using Clock = std::chrono::steady_clock;
constexpr const char* kPassword = "bench-tls-pw";

RedisOptions tls_cache_options(int port, const test::TlsCerts& certs) {
  RedisOptions ro;
  ro.host = "localhost";
  ro.port = port;
  ro.password = kPassword;
  ro.key_prefix = "";
  ro.allow_flushdb = true;
  ro.default_timeout = Ttl::never();
  ro.pool_size = 1;
  ro.socket_timeout = std::chrono::milliseconds(2000);
  ro.tls = certs.trusting_ca();
  return ro;
}

// `op(i)` in a loop on one thread for `seconds`; `per_op` units each.
template <class Op>
std::function<Measurement()> timed(double seconds, std::uint64_t per_op, Op op) {
  return [=] {
    return run_timed(1, seconds, [&](int, Gate& gate, const std::atomic<bool>& stop) {
      Counts c;
      bool warm = true;
      std::size_t i = 0;
      gate.arrive_and_wait();
      while (!stop.load(std::memory_order_relaxed)) {
        gate.warm_until_counting(warm, c);
        for (int j = 0; j < 8; ++j) op(i++);
        c.units += 8 * per_op;
      }
      Gate::finish(warm, c);
      return c;
    });
  };
}

// Mean milliseconds of `n` fresh connections (connect + handshake + AUTH + a PING).
double connect_ms(const RedisOptions& base, int n) {
  const auto t0 = Clock::now();
  for (int i = 0; i < n; ++i) {
    RedisCache c(base);
    if (!c.ping()) throw std::runtime_error("TLS suite: a fresh connection failed");
  }
  return std::chrono::duration<double, std::milli>(Clock::now() - t0).count() / n;
}

}  // namespace

void tls_suite(const Options& o, Report& report) {
  report.section("TLS: RedisCache over TLS vs a raw OpenSSL + redisReader loop, same server");
  const auto& certs = test::TlsCerts::shared();
  auto server_options = test::tls_server_options(certs.server_cert, certs.server_key, false);
  server_options.args.insert(server_options.args.end(), {"--requirepass", kPassword, "--save", ""});
  server_options.password = kPassword;
  test::RedisServer server(server_options);
  test::RedisServer::Options plain_options;
  plain_options.args = {"--requirepass", kPassword, "--save", ""};
  plain_options.password = kPassword;
  test::RedisServer plain(plain_options);

  const std::size_t nkeys = 10'000;
  const KeySet keys(nkeys);
  const std::string value = make_value(100, 3);
  auto cache = std::make_unique<RedisCache>(tls_cache_options(server.port(), certs));
  for (std::size_t i = 0; i < nkeys; ++i) cache->set(keys[i], value);
  RawTls raw(server.port(), certs.ca_cert, kPassword);

  const int quads = o.quick ? 10 : 20;
  const double slice = o.quick ? 0.02 : 0.04;
  const Sample get = abba(quads, timed(slice, 1, [&](std::size_t i) { raw.get(keys[i % nkeys]); }),
                          timed(slice, 1, [&](std::size_t i) { cache->get(keys[i % nkeys]); }));
  report.ratio({"T1_tls_get_vs_raw", get.median(), 0.95, Better::higher,
                "RedisCache get over TLS / raw OpenSSL + redisReader GET loop, 1 thread"});
  const Sample set = abba(quads, timed(slice, 1, [&](std::size_t i) { raw.set(keys[i % nkeys], value); }),
                          timed(slice, 1, [&](std::size_t i) { cache->set(keys[i % nkeys], value); }));
  report.ratio({"T1_tls_set_vs_raw", set.median(), 0.95, Better::higher,
                "RedisCache set over TLS / raw OpenSSL + redisReader SET loop, 1 thread"});

  constexpr std::size_t kBatch = 100;
  std::vector<std::vector<std::string_view>> batches;
  for (std::size_t b = 0; b + kBatch <= nkeys; b += kBatch) {
    batches.emplace_back();
    for (std::size_t k = b; k < b + kBatch; ++k) batches.back().push_back(keys[k]);
  }
  const Sample many = abba(quads, timed(slice, kBatch, [&](std::size_t i) { raw.mget(batches[i % batches.size()]); }),
                           timed(slice, kBatch, [&](std::size_t i) {
                             const auto& b = batches[i % batches.size()];
                             cache->get_many(Cache::KeyList(b.begin(), b.end()));
                           }));
  report.ratio({"T2_tls_get_many_vs_raw_mget", many.median(), 0.9, Better::higher,
                "RedisCache get_many(100) over TLS / raw MGET of 100 over TLS, keys per second"});

  RedisOptions plain_ro = tls_cache_options(plain.port(), certs);
  plain_ro.host = "127.0.0.1";
  plain_ro.tls = TlsOptions{};
  const int n = o.quick ? 20 : 50;
  const double tls_ms = connect_ms(tls_cache_options(server.port(), certs), n);
  const double plain_ms = connect_ms(plain_ro, n);
  report.value("T3_connect_tls", "TCP connect + TLS handshake + AUTH + PING", tls_ms, "ms");
  report.value("T3_connect_plain", "TCP connect + AUTH + PING", plain_ms, "ms");
  char buf[160];
  std::snprintf(buf, sizeof buf, "a new connection: %.3f ms over TLS, %.3f ms plain TCP (mean of %d)", tls_ms,
                plain_ms, n);
  report.note(buf);
}

}  // namespace cachet::bench
