// The circuit breaker alone (src/fallback/breaker): thresholds, the listener's
// transitions, the prober thread and its cooldown. No cache, no server.
#include "fallback/breaker.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

using namespace std::chrono_literals;
using cachet::BreakerState;
using cachet::detail::Breaker;

namespace {

struct Recorder {
  std::mutex mu;
  std::vector<std::tuple<BreakerState, BreakerState, std::string>> changes;

  Breaker::Listener listener() {
    return [this](BreakerState from, BreakerState to, const std::string& why) {
      std::lock_guard<std::mutex> lock(mu);
      changes.emplace_back(from, to, why);
    };
  }
  std::size_t size() {
    std::lock_guard<std::mutex> lock(mu);
    return changes.size();
  }
};

Breaker::Settings settings(int threshold, std::chrono::milliseconds cooldown, std::chrono::milliseconds max) {
  Breaker::Settings s;
  s.failure_threshold = threshold;
  s.cooldown = cooldown;
  s.max_cooldown = max;
  return s;
}

template <class Pred>
bool eventually(Pred pred, std::chrono::milliseconds limit = 10s) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!pred()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(5ms);
  }
  return true;
}

TEST(Breaker, OpensAfterThresholdConsecutiveFailures) {
  Recorder rec;
  Breaker b(settings(3, 1h, 1h), rec.listener());
  b.record_failure(false, "one");
  b.record_failure(false, "two");
  EXPECT_TRUE(b.closed());
  b.record_success();  // the run ends
  b.record_failure(false, "one again");
  b.record_failure(false, "two again");
  EXPECT_TRUE(b.closed());
  b.record_failure(false, "three");
  EXPECT_EQ(b.state(), BreakerState::open);
  EXPECT_EQ(b.trips(), 1u);
  ASSERT_EQ(rec.size(), 1u);
  EXPECT_EQ(rec.changes[0], std::make_tuple(BreakerState::closed, BreakerState::open, std::string("three")));
  b.record_failure(false, "four");  // already open: no second trip
  EXPECT_EQ(b.trips(), 1u);
  EXPECT_EQ(rec.size(), 1u);
}

TEST(Breaker, OpenNowTripsAtOnce) {
  Recorder rec;
  Breaker b(settings(100, 1h, 1h), rec.listener());
  b.record_failure(true, "write failed");
  EXPECT_EQ(b.state(), BreakerState::open);
  EXPECT_EQ(b.trips(), 1u);
}

TEST(Breaker, RecoveryTransitionsAndTimeOpen) {
  Recorder rec;
  Breaker b(settings(1, 1h, 1h), rec.listener());
  b.record_failure(false, "down");
  std::this_thread::sleep_for(20ms);
  b.half_open();
  b.reopen("probe failed");
  b.half_open();
  b.close();
  EXPECT_TRUE(b.closed());
  EXPECT_GE(b.time_open(), 20ms);
  const auto frozen = b.time_open();
  std::this_thread::sleep_for(10ms);
  EXPECT_EQ(b.time_open(), frozen);  // closed: the clock stopped
  std::lock_guard<std::mutex> lock(rec.mu);
  const std::vector<std::pair<BreakerState, BreakerState>> want = {
      {BreakerState::closed, BreakerState::open},      {BreakerState::open, BreakerState::half_open},
      {BreakerState::half_open, BreakerState::open},   {BreakerState::open, BreakerState::half_open},
      {BreakerState::half_open, BreakerState::closed},
  };
  ASSERT_EQ(rec.changes.size(), want.size());
  for (std::size_t i = 0; i < want.size(); ++i) {
    EXPECT_EQ(std::get<0>(rec.changes[i]), want[i].first) << i;
    EXPECT_EQ(std::get<1>(rec.changes[i]), want[i].second) << i;
  }
}

TEST(Breaker, ProberRunsOnlyWhenOpenAndCooledDown) {
  std::atomic<int> probes{0};
  Breaker b(settings(1, 1h, 1h), {});
  b.start([&] { ++probes; }, false, false);
  std::this_thread::sleep_for(50ms);
  EXPECT_EQ(probes.load(), 0);  // closed: nothing to probe
  b.record_failure(false, "down");
  std::this_thread::sleep_for(50ms);
  EXPECT_EQ(probes.load(), 0);  // open, but the cooldown is an hour
  b.stop();
}

TEST(Breaker, StartedOpenProbesAtOnceAndBacksOff) {
  std::atomic<int> probes{0};
  Breaker* self = nullptr;
  Breaker b(settings(1, 30ms, 60ms), {});
  self = &b;
  // Each probe fails: reopen doubles the cooldown up to max_cooldown.
  b.start([&] {
    ++probes;
    self->reopen("probe failed");
  }, true, true);
  EXPECT_EQ(b.state(), BreakerState::open);
  EXPECT_EQ(b.trips(), 1u);
  EXPECT_TRUE(eventually([&] { return probes.load() >= 3; }));
  b.stop();
  const int after_stop = probes.load();
  std::this_thread::sleep_for(150ms);
  EXPECT_EQ(probes.load(), after_stop);  // stopped means stopped
}

TEST(Breaker, StopWaitsForAProbeInProgress) {
  std::atomic<bool> in_probe{false};
  std::atomic<bool> finished{false};
  Breaker b(settings(1, 1ms, 1ms), {});
  b.start([&] {
    in_probe = true;
    std::this_thread::sleep_for(100ms);
    finished = true;
  }, true, true);
  ASSERT_TRUE(eventually([&] { return in_probe.load(); }));
  b.stop();
  EXPECT_TRUE(finished.load());
}

}  // namespace
