#include "harness.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <thread>
#include <time.h>

namespace cachet::bench {

std::atomic<std::uint64_t> g_sink{0};

namespace {
// CPU time of the calling thread, and its value when the gate opened for it.
double thread_cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}
thread_local double t_cpu_at_gate = 0;
}  // namespace
bool g_use_best = false;

void Gate::arrive_and_wait() {
  arrived_.fetch_add(1, std::memory_order_acq_rel);
  while (!go_.load(std::memory_order_acquire)) std::this_thread::yield();
  t_cpu_at_gate = thread_cpu_seconds();
}

void Gate::restart_cpu_account() { t_cpu_at_gate = thread_cpu_seconds(); }

void Gate::wait_all_arrived() const {
  while (arrived_.load(std::memory_order_acquire) < threads_) std::this_thread::yield();
}

Measurement run_timed(int threads, double seconds, const Worker& worker) {
  using clock = std::chrono::steady_clock;
  Gate gate(threads);
  std::atomic<bool> stop{false};
  std::vector<Counts> counts(static_cast<std::size_t>(threads));
  std::vector<double> cpu(static_cast<std::size_t>(threads), 0.0);
  std::vector<std::thread> pool;
  pool.reserve(static_cast<std::size_t>(threads));
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&, t] {
      counts[static_cast<std::size_t>(t)] = worker(t, gate, stop);
      cpu[static_cast<std::size_t>(t)] = thread_cpu_seconds() - t_cpu_at_gate;
    });
  }
  gate.wait_all_arrived();
  gate.open();
  // Untimed warm-up: the first milliseconds after another contender's run
  // refill this one's working set; counted, they would add the same cold-start
  // cost to both sides of a ratio and pull it towards 1.
  std::this_thread::sleep_for(std::chrono::duration<double>(std::min(seconds / 4, 0.005)));
  const auto t0 = clock::now();
  gate.start_counting();
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
  stop.store(true, std::memory_order_relaxed);
  for (auto& th : pool) th.join();
  const double elapsed = std::chrono::duration<double>(clock::now() - t0).count();
  Counts total;
  for (const auto& c : counts) total += c;
  Measurement m;
  m.rate = static_cast<double>(total.units) / elapsed;
  for (double c : cpu) m.cores += c / elapsed;
  m.hit_ratio = total.gets ? static_cast<double>(total.hits) / static_cast<double>(total.gets) : 1.0;
  return m;
}

double Sample::median() const {
  if (rates.empty()) return 0;
  auto v = rates;
  std::sort(v.begin(), v.end());
  const auto n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}
double paired_ratio(const Sample& subject, const Sample& baseline) {
  if (g_use_best) return subject.max() / baseline.max();
  Sample ratios;
  for (std::size_t r = 0; r < subject.rates.size() && r < baseline.rates.size(); ++r)
    ratios.rates.push_back(subject.rates[r] / baseline.rates[r]);
  return ratios.median();
}

double Sample::center() const { return g_use_best ? max() : median(); }
double Sample::min() const { return rates.empty() ? 0 : *std::min_element(rates.begin(), rates.end()); }
double Sample::max() const { return rates.empty() ? 0 : *std::max_element(rates.begin(), rates.end()); }

std::vector<Sample> interleaved(int rounds, const std::vector<std::function<Measurement()>>& contenders) {
  const auto n = contenders.size();
  std::vector<Sample> out(n);
  for (const auto& c : contenders) c();  // warm-up: connections, page faults, caches
  for (int r = 0; r < rounds; ++r) {
    for (std::size_t i = 0; i < n; ++i) {
      const auto k = (i + static_cast<std::size_t>(r)) % n;
      const Measurement m = contenders[k]();
      out[k].rates.push_back(m.rate);
      out[k].hit_ratio = m.hit_ratio;
      out[k].cores.push_back(m.cores);
    }
  }
  return out;
}

Sample abba(int quads, const std::function<Measurement()>& baseline, const std::function<Measurement()>& subject) {
  subject();   // warm-ups, subject first: quad 0 then opens on the baseline
  baseline();  // right after a baseline run, like every later quad
  Sample ratios;
  for (int q = 0; q < quads; ++q) {
    const double a1 = baseline().rate;
    const double b1 = subject().rate;
    const double b2 = subject().rate;
    const double a2 = baseline().rate;
    if (a1 + a2 > 0) ratios.rates.push_back((b1 + b2) / (a1 + a2));
  }
  return ratios;
}

std::string human(double v) {
  const char* suffix = "";
  double x = v;
  if (std::fabs(x) >= 1e9) { x /= 1e9; suffix = " G"; }
  else if (std::fabs(x) >= 1e6) { x /= 1e6; suffix = " M"; }
  else if (std::fabs(x) >= 1e3) { x /= 1e3; suffix = " k"; }
  char buf[64];
  std::snprintf(buf, sizeof buf, std::fabs(x) >= 100 ? "%.0f%s" : std::fabs(x) >= 10 ? "%.1f%s" : "%.2f%s", x, suffix);
  return buf;
}

void Report::section(const std::string& title) { std::printf("\n== %s ==\n", title.c_str()); std::fflush(stdout); }

void Report::note(const std::string& text) { std::printf("   %s\n", text.c_str()); std::fflush(stdout); }

void Report::throughput(const std::string& workload, const std::string& series, int threads, const Sample& s,
                        const std::string& unit) {
  char spread[64];
  const double med = s.center();
  std::snprintf(spread, sizeof spread, "+%.0f%%/-%.0f%%", med > 0 ? 100 * (s.max() / med - 1) : 0.0,
                med > 0 ? 100 * (1 - s.min() / med) : 0.0);
  Sample cores;
  cores.rates = s.cores;
  std::printf("   %-26s %-16s T=%-2d %10s %-7s (%s: %s, n=%zu) hit %.1f%%, got %.2f cores\n", workload.c_str(),
              series.c_str(), threads, human(med).c_str(), unit.c_str(), g_use_best ? "best; others within" : "median; spread",
              spread, s.rates.size(), 100 * s.hit_ratio, cores.median());
  std::fflush(stdout);
  char note[32];
  std::snprintf(note, sizeof note, "cores %.2f", cores.median());
  rows_.push_back({"throughput", workload, series, threads, 0, med, s.min(), s.max(), unit, note});
}

void Report::miss_ratio(const std::string& trace, const std::string& policy, double capacity_percent, double value) {
  rows_.push_back({"missratio", trace, policy, 1, capacity_percent, value, value, value, "miss ratio", ""});
}

void Report::value(const std::string& name, const std::string& series, double v, const std::string& unit) {
  rows_.push_back({"value", name, series, 1, 0, v, v, v, unit, ""});
}

void Report::ratio(Ratio r) {
  std::printf("   -> %-38s %8.3f  (%s %g: %s)\n", r.name.c_str(), r.value, r.better == Better::higher ? ">=" : "<=",
              r.threshold, r.pass() ? "PASS" : "FAIL");
  std::fflush(stdout);
  rows_.push_back({"ratio", r.name, r.name.substr(0, r.name.find('_')), 0, r.threshold, r.value, r.value, r.value,
                   "ratio", r.pass() ? "PASS" : "FAIL"});
  ratios_.push_back(std::move(r));
}

void Report::info(const std::string& name, double value, const std::string& meaning) {
  std::printf("   -- %-38s %8.3f  (no target: %s)\n", name.c_str(), value, meaning.c_str());
  std::fflush(stdout);
  rows_.push_back({"info", name, name.substr(0, name.find('_')), 0, 0, value, value, value, "ratio", ""});
  infos_.push_back({name, value, meaning});
}

int Report::finish() {
  std::printf("\n== Targets (issue #6) ==\n");
  std::printf("%-40s %10s %12s  %-6s %s\n", "ratio", "value", "target", "result", "meaning");
  int failed = 0;
  for (const auto& r : ratios_) {
    char target[32];
    std::snprintf(target, sizeof target, "%s %g", r.better == Better::higher ? ">=" : "<=", r.threshold);
    std::printf("%-40s %10.3f %12s  %-6s %s\n", r.name.c_str(), r.value, target, r.pass() ? "PASS" : "FAIL",
                r.meaning.c_str());
    if (!r.pass()) ++failed;
  }
  for (const auto& i : infos_) {
    std::printf("%-40s %10.3f %12s  %-6s %s\n", i.name.c_str(), i.value, "(none)", "info", i.meaning.c_str());
  }
  std::printf("%zu targets checked, %d failed\n\n", ratios_.size(), failed);
  for (const auto& r : ratios_) std::printf("ratio %s %.4f\n", r.name.c_str(), r.value);
  for (const auto& i : infos_) std::printf("info %s %.4f\n", i.name.c_str(), i.value);
  std::fflush(stdout);
  return failed;
}

bool Report::write_csv(const std::string& path) const {
  std::ofstream out(path);
  if (!out) return false;
  out.precision(10);
  out << "kind,name,series,threads,x,value,min,max,unit,note\n";
  for (const auto& r : rows_) {
    out << r.kind << ',' << r.name << ',' << r.series << ',' << r.threads << ',' << r.x << ',' << r.value << ','
        << r.min << ',' << r.max << ',' << r.unit << ',' << r.note << '\n';
  }
  return static_cast<bool>(out);
}

}  // namespace cachet::bench
