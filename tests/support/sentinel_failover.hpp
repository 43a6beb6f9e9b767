// Test harness: the failover check that test_redis_sentinel and
// test_redis_sentinel_tls share. check_failover() writes through a RedisCache
// made from `url` while `failover` demotes the master, then asserts what a
// user observes: the cache moves to the new master within 2 s of the
// promotion, and every write acknowledged from then on is on the new master.
// Header-only: it needs spdlog (a sink that sees the switch), which the test
// executables link and the support library does not.
#pragma once

#include <gtest/gtest.h>
#include <spdlog/sinks/base_sink.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "cachet/cachet.hpp"
#include "support/redis_sentinel.hpp"

namespace cachet::test {

namespace sentinel_failover_detail {

using Clock = std::chrono::steady_clock;

struct Write {
  int n;
  Clock::time_point issued;
};

// Writes k<n> = n as fast as it can, remembering every acknowledged write.
class Writer {
 public:
  explicit Writer(RedisCache& cache) : thread_([this, &cache] {
      for (int n = 0; !stop_; ++n) {
        const auto issued = Clock::now();
        if (cache.set("k" + std::to_string(n), std::to_string(n))) {
          std::lock_guard<std::mutex> lock(mu_);
          acked_.push_back({n, issued});
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
      }
    }) {}
  ~Writer() { stop(); }
  Writer(const Writer&) = delete;
  Writer& operator=(const Writer&) = delete;
  void stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }
  std::vector<Write> acked() {
    std::lock_guard<std::mutex> lock(mu_);
    return acked_;
  }

 private:
  std::atomic<bool> stop_{false};
  std::mutex mu_;
  std::vector<Write> acked_;
  std::thread thread_;
};

// Remembers when the cache logged that it moved to a new master.
class SwitchSink final : public spdlog::sinks::base_sink<std::mutex> {
 public:
  Clock::time_point switched() {
    std::lock_guard<std::mutex> lock(mutex_);
    return switched_;
  }

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    const std::string text(msg.payload.data(), msg.payload.size());
    if (text.find("is now") != std::string::npos && switched_ == Clock::time_point{}) switched_ = Clock::now();
  }
  void flush_() override {}

 private:
  Clock::time_point switched_{};
};

}  // namespace sentinel_failover_detail

/// Runs `failover(old_master)` under writes through a cache made from `url`
/// (a Sentinel URL of `set`, with any ssl_* keys), then checks the switch as
/// above and waits until `set` is stable again (restarting a killed old master).
inline void check_failover(RedisSentinelSet& set, const std::string& url,
                           const std::function<void(RedisServer& old_master)>& failover) {
  using namespace sentinel_failover_detail;
  using namespace std::chrono_literals;
  auto sink = std::make_shared<SwitchSink>();
  auto logger = std::make_shared<spdlog::logger>("sentinel-switch", sink);
  logger->set_level(spdlog::level::trace);
  cachet::set_logger(logger);
  struct Restore {
    ~Restore() { cachet::set_logger(nullptr); }
  } restore;
  auto options = RedisOptions::from_url(url);
  options.key_prefix = unique_prefix();
  options.default_timeout = Ttl::never();
  RedisCache cache(options);
  RedisServer& old_master = set.master();
  RedisServer& new_master = set.replica();
  Writer writer(cache);
  std::this_thread::sleep_for(300ms);
  failover(old_master);
  Clock::time_point promoted{};
  for (const auto start = Clock::now(); Clock::now() - start < 20s; std::this_thread::sleep_for(5ms)) {
    try {
      if (new_master.command({"ROLE"}).rfind("master", 0) == 0) {
        promoted = Clock::now();
        break;
      }
    } catch (const std::exception&) {
    }
  }
  ASSERT_NE(promoted, Clock::time_point{}) << "no promotion within 20 s";
  std::this_thread::sleep_for(2500ms);
  writer.stop();

  // The client switched when it logged the new master (until the sentinels
  // announce the switch, the old master may still accept writes; those are
  // lost when it is demoted, as with any client).
  const auto switched_at = sink->switched();
  ASSERT_NE(switched_at, Clock::time_point{}) << "the cache never moved to the new master";
  const auto switched = std::chrono::duration_cast<std::chrono::milliseconds>(switched_at - promoted);
  std::printf("sentinel failover: the client switched %lld ms after the promotion\n",
              static_cast<long long>(switched.count()));
  EXPECT_LE(switched, 2s);
  int lost = 0, after = 0;
  for (const auto& w : writer.acked()) {
    if (w.issued < switched_at) continue;
    ++after;
    if (new_master.command({"GET", options.key_prefix + "k" + std::to_string(w.n)}) != std::to_string(w.n)) ++lost;
  }
  EXPECT_GT(after, 100);
  EXPECT_EQ(lost, 0) << "writes acknowledged after the client switched, then lost";
  if (!old_master.running()) old_master.start();  // the sentinels make it a replica
  ASSERT_TRUE(set.wait_stable());
}

}  // namespace cachet::test
