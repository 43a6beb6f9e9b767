// bench/harness.hpp — timing, repetition and reporting.
//
// A measurement runs T threads over pre-generated traces for a fixed wall
// time; each thread does its setup (e.g. connecting), waits at a gate, then
// loops until told to stop. The rate is units done / (gate opening -> last
// thread joined). Contenders of one comparison are measured in interleaved
// rounds (round r rotates the order by r) after one discarded warm-up round,
// and each is summarised by its median, so that a noisy neighbour on this
// shared machine hits subject and baseline alike. Ratios whose target is near
// parity (P1, P2 vs pipeline, P3, P7) are measured again, finer, by abba().
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace cachet::bench {

struct Counts {
  std::uint64_t units = 0;  // operations, or keys for batch operations
  std::uint64_t gets = 0;   // keys looked up
  std::uint64_t hits = 0;   // keys found
  Counts& operator+=(const Counts& o) {
    units += o.units;
    gets += o.gets;
    hits += o.hits;
    return *this;
  }
};

/// Threads call arrive_and_wait() once their setup is done. After the gate
/// opens, a run first warms up untimed (caches and TLBs refilled after the
/// other contender's run); each worker calls warm_until_counting() once per
/// batch, which zeroes its counts when the measured window starts.
class Gate {
 public:
  explicit Gate(int threads) : threads_(threads) {}
  void arrive_and_wait();
  void wait_all_arrived() const;
  void open() { go_.store(true, std::memory_order_release); }
  /// Ends the warm-up (run_timed calls it when the measured window starts).
  void start_counting() { counting_.store(true, std::memory_order_relaxed); }

  /// Per worker: `warm` starts true; at the first call after start_counting(),
  /// zeroes `c` (work done while warming up is not counted), restarts the
  /// thread's CPU-time account and clears `warm`.
  void warm_until_counting(bool& warm, Counts& c) const {
    if (warm && counting_.load(std::memory_order_relaxed)) {
      warm = false;
      c = Counts{};
      restart_cpu_account();
    }
  }

  /// The usual worker loop: arrive_and_wait(), then `batch(c)` until `stop`,
  /// with warm_until_counting() before each batch and finish() after. The
  /// counts of the measured window.
  template <class Batch>
  Counts count(const std::atomic<bool>& stop, Batch&& batch) {
    Counts c;
    bool warm = true;
    arrive_and_wait();
    while (!stop.load(std::memory_order_relaxed)) {
      warm_until_counting(warm, c);
      batch(c);
    }
    finish(warm, c);
    return c;
  }

  /// Per worker, after its loop: a worker that never reached a batch boundary
  /// inside the window (it was descheduled, or blocked on one reply, the whole
  /// time) still holds warm-up work; it reports nothing rather than that.
  static void finish(bool warm, Counts& c) {
    if (warm) {
      c = Counts{};
      restart_cpu_account();
    }
  }

 private:
  static void restart_cpu_account();
  int threads_;
  std::atomic<int> arrived_{0};
  std::atomic<bool> go_{false};
  std::atomic<bool> counting_{false};
};

/// A thread's work: set up, then gate.count() (or by hand: arrive_and_wait(),
/// loop until `stop` calling warm_until_counting() once per batch, finish()).
using Worker = std::function<Counts(int thread, Gate& gate, const std::atomic<bool>& stop)>;

struct Measurement {
  double rate = 0;       // units per second
  double hit_ratio = 1;  // hits / gets (1 when there were no gets)
  double cores = 0;      // CPU time the threads got after the gate / wall time
};

/// Runs `worker` on `threads` threads: an untimed warm-up of a quarter of
/// `seconds` (at most 5 ms), then a measured window of about `seconds`.
Measurement run_timed(int threads, double seconds, const Worker& worker);

struct Sample {
  std::vector<double> rates;
  double hit_ratio = 1;  // of the last round
  std::vector<double> cores;  // CPU cores the threads actually got, per round
  double median() const;
  /// What comparisons use: the median, or the best round with --stat best.
  double center() const;
  double min() const;
  double max() const;
};

/// Subject vs baseline measured by interleaved(): the median over rounds of
/// subject[r] / baseline[r] (adjacent in time, so slow drifts in the machine's
/// load cancel); with --stat best, best(subject) / best(baseline).
double paired_ratio(const Sample& subject, const Sample& baseline);

/// A finer comparison of two contenders than interleaved() gives: `quads`
/// A-B-B-A sequences of short measurements (baseline, subject, subject,
/// baseline), after one warm-up of each. Returns one ratio per quad,
/// (subject1 + subject2) / (baseline1 + baseline2), which cancels any load
/// change that is linear over the quad; the caller takes the median. Used where
/// the expected difference (a few per cent) is smaller than this machine's
/// swings between rounds.
Sample abba(int quads, const std::function<Measurement()>& baseline, const std::function<Measurement()>& subject);

/// True: Sample::center() is the best round instead of the median (--stat best).
extern bool g_use_best;

/// Measures every contender `rounds` times, interleaved, after a warm-up round.
std::vector<Sample> interleaved(int rounds, const std::vector<std::function<Measurement()>>& contenders);

/// Sink for values read in timed loops, so the compiler cannot drop the reads.
extern std::atomic<std::uint64_t> g_sink;

// ---------------------------------------------------------------------------

enum class Better { higher, lower };

struct Ratio {
  std::string name;
  double value;
  double threshold;
  Better better;
  std::string meaning;
  bool pass() const { return better == Better::higher ? value >= threshold : value <= threshold; }
};

/// Collects results: prints them as they come, the summary table and the
/// `ratio <name> <value>` lines at the end, and the CSV.
class Report {
 public:
  void section(const std::string& title);
  void note(const std::string& text);
  void throughput(const std::string& workload, const std::string& series, int threads, const Sample& s,
                  const std::string& unit);
  void miss_ratio(const std::string& trace, const std::string& policy, double capacity_percent, double value);
  void value(const std::string& name, const std::string& series, double v, const std::string& unit);
  void ratio(Ratio r);
  /// A ratio reported for context with no target (e.g. a noise control):
  /// printed, listed under the targets and written to the CSV as kind "info",
  /// and ends the output as an `info <name> <value>` line.
  void info(const std::string& name, double value, const std::string& meaning);
  /// Prints the target table and the ratio lines; returns the number of failed targets.
  int finish();
  bool write_csv(const std::string& path) const;

 private:
  struct Row {
    std::string kind, name, series;
    int threads;
    double x, value, min, max;
    std::string unit, note;
  };
  std::vector<Row> rows_;
  std::vector<Ratio> ratios_;
  struct Info {
    std::string name;
    double value;
    std::string meaning;
  };
  std::vector<Info> infos_;
};

/// "12.3 M", "45.6 k" — three significant digits.
std::string human(double v);

}  // namespace cachet::bench
