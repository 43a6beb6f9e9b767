// The memory suite (P6). Each measurement runs in a fresh child process
// (this binary with --rss-child MODE) so that RSS growth is not blurred by
// what earlier suites allocated and freed.
#include <cachet/simple_cache.hpp>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <memory>
#include <sstream>
#include <stdexcept>

#include "lru.hpp"
#include "suites.hpp"
#include "workload.hpp"

namespace cachet::bench {
namespace {

std::size_t rss_bytes() {
  std::ifstream statm("/proc/self/statm");
  std::size_t pages_total = 0, pages_resident = 0;
  statm >> pages_total >> pages_resident;
  return pages_resident * static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
}

struct ChildResult {
  double rss_growth = 0, items = 0, payload = 0, held_bytes = 0, budget = 0;
};

ChildResult run_child(const Options& o, const std::string& mode) {
  const std::string cmd = "'" + o.self_exe + "' --rss-child " + mode + (o.quick ? " --quick" : "");
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) throw std::runtime_error("cannot start " + cmd);
  std::string out;
  char buf[512];
  while (std::fgets(buf, sizeof buf, p)) out += buf;
  const int status = pclose(p);
  ChildResult r;
  if (status != 0 || std::sscanf(out.c_str(), "rss_growth=%lf items=%lf payload=%lf held_bytes=%lf budget=%lf",
                                 &r.rss_growth, &r.items, &r.payload, &r.held_bytes, &r.budget) != 5) {
    throw std::runtime_error("child '" + cmd + "' failed: " + out);
  }
  return r;
}

}  // namespace

int rss_child(const std::string& mode, bool quick) {
  const std::size_t n = 1'000'000;
  const std::string value = make_value(100, 4);
  if (mode == "simple" || mode == "lru") {
    const KeySet keys(n);  // generated before the first RSS reading
    const std::size_t payload = n * (keys.width() + value.size());
    std::size_t before = 0, items = 0, held = 0;
    if (mode == "simple") {
      SimpleCacheOptions opt;
      opt.max_items = n;
      opt.max_bytes = std::size_t{4} << 30;
      opt.default_timeout = Ttl::never();
      before = rss_bytes();
      auto cache = std::make_unique<SimpleCache>(opt);
      for (std::size_t i = 0; i < n; ++i) cache->set(keys[i], value);
      const auto st = cache->stats();
      items = st.items;
      held = items * (keys.width() + value.size());  // every entry has the same size
      std::printf("rss_growth=%zu items=%zu payload=%zu held_bytes=%zu budget=0\n", rss_bytes() - before, items,
                  payload, held);
    } else {
      before = rss_bytes();
      auto cache = std::make_unique<LockedLru>(n);
      for (std::size_t i = 0; i < n; ++i) cache->set(keys[i], value);
      items = cache->size();
      std::printf("rss_growth=%zu items=%zu payload=%zu held_bytes=%zu budget=0\n", rss_bytes() - before, items,
                  payload, items * (keys.width() + value.size()));
    }
    return 0;
  }
  if (mode == "budget") {
    // max_bytes binds (max_items is not reached); 4x the budget is inserted, so
    // most entries are evicted and their memory reused or returned.
    const std::size_t budget = (quick ? std::size_t{32} : std::size_t{64}) << 20;
    const KeySet probe(1);
    const std::size_t entry = probe.width() + value.size();
    const std::size_t inserts = 4 * budget / entry;
    const KeySet keys(inserts);
    SimpleCacheOptions opt;
    opt.max_items = 2 * budget / entry;
    opt.max_bytes = budget;
    opt.default_timeout = Ttl::never();
    const std::size_t before = rss_bytes();
    auto cache = std::make_unique<SimpleCache>(opt);
    for (std::size_t i = 0; i < inserts; ++i) cache->set(keys[i], value);
    const auto st = cache->stats();
    std::printf("rss_growth=%zu items=%llu payload=%zu held_bytes=%llu budget=%zu\n", rss_bytes() - before,
                static_cast<unsigned long long>(st.items), inserts * entry, static_cast<unsigned long long>(st.bytes),
                budget);
    return 0;
  }
  std::fprintf(stderr, "cachet_bench: unknown --rss-child mode '%s' (accepted: simple, lru, budget)\n", mode.c_str());
  return 2;
}

void rss_suite(const Options& o, Report& report) {
  report.section("Memory: RSS growth in fresh child processes (P6)");
  char buf[256];
  auto per_entry = [](const ChildResult& r) { return (r.rss_growth - r.held_bytes) / r.items; };

  const ChildResult simple = run_child(o, "simple");
  const ChildResult lru = run_child(o, "lru");
  for (const auto& [name, r] : {std::pair<const char*, const ChildResult&>{"SimpleCache", simple}, {"LockedLRU", lru}}) {
    std::snprintf(buf, sizeof buf, "%-12s 1M inserts: RSS +%.1f MiB, %.0f items held, %.1f MiB key+value bytes -> %.1f B/entry overhead",
                  name, r.rss_growth / 1048576.0, r.items, r.held_bytes / 1048576.0, per_entry(r));
    report.note(buf);
    report.value("rss overhead per entry", name, per_entry(r), "bytes");
  }
  report.ratio({"P6_overhead_bytes_per_entry", per_entry(simple), 64, Better::lower,
                "SimpleCache (RSS growth - key/value bytes held) / entries held, 1M entries (bytes, not a ratio)"});

  const ChildResult b = run_child(o, "budget");
  const double allowance = b.budget + b.items * 64.0;
  std::snprintf(buf, sizeof buf,
                "max_bytes %.0f MiB, %.0f MiB inserted: RSS +%.1f MiB, %.0f items / %.1f MiB held at the end",
                b.budget / 1048576.0, b.payload / 1048576.0, b.rss_growth / 1048576.0, b.items, b.held_bytes / 1048576.0);
  report.note(buf);
  report.ratio({"P6_rss_vs_budget", b.rss_growth / allowance, 1.10, Better::lower,
                "RSS growth / (max_bytes + 64 B x entries held), after inserting 4x max_bytes"});
  if (b.held_bytes > b.budget) report.note("WARNING: stats().bytes exceeds max_bytes");
}

}  // namespace cachet::bench
