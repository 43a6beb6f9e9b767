// The Prometheus text exposition format 0.0.4: MetricsWriter, and the
// families every cache has, from one table (docs/observability.md lists them).
#include <fmt/format.h>

#include <cmath>
#include <stdexcept>
#include <string>
#include <unordered_map>
#include <vector>

#include "cachet/cache.hpp"
#include "cachet/metrics.hpp"
#include "metrics/exposition.hpp"

namespace cachet {

namespace {

enum class Type { counter, gauge, histogram };

const char* type_name(Type t) {
  switch (t) {
    case Type::counter: return "counter";
    case Type::gauge: return "gauge";
    case Type::histogram: return "histogram";
  }
  return "untyped";
}

bool valid_name(std::string_view name, bool allow_colon) {
  if (name.empty()) return false;
  for (std::size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    const bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || (allow_colon && c == ':');
    if (!alpha && !(i > 0 && c >= '0' && c <= '9')) return false;
  }
  return true;
}

void append_escaped(std::string& out, std::string_view s, bool quotes) {
  for (char c : s) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '"' && quotes) {
      out += "\\\"";
    } else {
      out += c;
    }
  }
}

std::string number(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  return fmt::format("{}", v);
}

// ---- the families every cache has ------------------------------------------

struct CounterRow {
  const char* name;
  const char* help;
  std::uint64_t CacheStats::*field;
};

constexpr CounterRow kCounterRows[] = {
    {"cachet_hits_total", "Lookups (get, get_many, get_or_set) that found an entry.", &CacheStats::hits},
    {"cachet_misses_total", "Lookups that found nothing, failed lookups included.", &CacheStats::misses},
    {"cachet_sets_total", "Entries stored by set, add, set_many and get_or_set.", &CacheStats::sets},
    {"cachet_removes_total", "Entries removed by remove and remove_many.", &CacheStats::removes},
    {"cachet_evictions_total", "Entries dropped to respect max_items or max_bytes.", &CacheStats::evictions},
    {"cachet_expirations_total", "Expired entries reclaimed.", &CacheStats::expirations},
    {"cachet_stale_served_total", "get_or_set calls answered with a stale value (fail-safe).",
     &CacheStats::stale_served},
    {"cachet_loader_timeouts_total", "get_or_set calls that stopped waiting for their loader.",
     &CacheStats::loader_timeouts},
    {"cachet_background_loads_total", "Loads run on the loader threads.", &CacheStats::background_loads},
    {"cachet_eager_refreshes_total", "Background reloads started by eager refresh.", &CacheStats::eager_refreshes},
    {"cachet_lock_waits_total", "Loads that waited for another process's distributed lock.", &CacheStats::lock_waits},
    {"cachet_lock_timeouts_total", "Waits for a distributed lock that ran out.", &CacheStats::lock_timeouts},
};

struct ErrorRow {
  ErrorKind kind;
  std::uint64_t CacheStats::*field;
};

constexpr ErrorRow kErrorRows[] = {
    {ErrorKind::connection, &CacheStats::errors_connection},
    {ErrorKind::timeout, &CacheStats::errors_timeout},
    {ErrorKind::protocol, &CacheStats::errors_protocol},
    {ErrorKind::reply, &CacheStats::errors_reply},
    {ErrorKind::pool_exhausted, &CacheStats::errors_pool_exhausted},
    {ErrorKind::tls, &CacheStats::errors_tls},
};
constexpr const char* kErrorsName = "cachet_errors_total";
constexpr const char* kErrorsHelp = "Backend failures by kind.";

struct GaugeRow {
  const char* name;
  const char* help;
  std::uint64_t CacheStats::*field;
};

constexpr GaugeRow kGaugeRows[] = {
    {"cachet_items", "Entries currently held (in-memory caches; 0 for Redis).", &CacheStats::items},
    {"cachet_bytes", "Key and value bytes currently held (in-memory caches; 0 for Redis).", &CacheStats::bytes},
};

constexpr const char* kCallsName = "cachet_operations_total";
constexpr const char* kCallsHelp = "Calls per operation, counted exactly.";
constexpr const char* kLatencyName = "cachet_operation_duration_seconds";
constexpr const char* kLatencyHelp =
    "Duration of operations in seconds (a sample of calls, each standing for its sampling period).";

}  // namespace

// ---- MetricsWriter ---------------------------------------------------------

struct MetricsWriter::Impl {
  struct Family {
    std::string name;
    std::string help;
    Type type;
    std::string samples;
  };
  std::vector<Family> families;
  std::unordered_map<std::string, std::size_t> index;
  std::string cache_labels;  // cache="...",backend="..."

  Family& family(std::string_view name, std::string_view help, Type type) {
    auto it = index.find(std::string(name));
    if (it != index.end()) {
      Family& f = families[it->second];
      if (f.type != type) {
        throw std::invalid_argument(fmt::format("MetricsWriter: metric '{}' added as a {} and as a {}", name,
                                                type_name(f.type), type_name(type)));
      }
      return f;
    }
    if (!valid_name(name, true)) {
      throw std::invalid_argument(
          fmt::format("MetricsWriter: invalid metric name '{}'; accepted: [a-zA-Z_:][a-zA-Z0-9_:]*", name));
    }
    if (type == Type::counter && (name.size() < 6 || name.substr(name.size() - 6) != "_total")) {
      throw std::invalid_argument(fmt::format("MetricsWriter: counter '{}' must end in _total", name));
    }
    index.emplace(std::string(name), families.size());
    families.push_back(Family{std::string(name), std::string(help), type, {}});
    return families.back();
  }

  // name{cache labels,extra[,le]} value
  void sample(Family& f, std::string_view suffix, const std::vector<MetricLabel>& labels, std::string_view le,
              const std::string& value) {
    std::string& out = f.samples;
    out += f.name;
    out += suffix;
    out += '{';
    out += cache_labels;
    for (const auto& [k, v] : labels) {
      if (!valid_name(k, false) || k.substr(0, 2) == "__") {
        throw std::invalid_argument(fmt::format("MetricsWriter: invalid label name '{}'", k));
      }
      if (!out.empty() && out.back() != '{') out += ',';
      out += k;
      out += "=\"";
      append_escaped(out, v, true);
      out += '"';
    }
    if (!le.empty()) {
      if (out.back() != '{') out += ',';
      out += "le=\"";
      out += le;
      out += '"';
    }
    out += "} ";
    out += value;
    out += '\n';
  }
};

MetricsWriter::MetricsWriter() : impl_(std::make_unique<Impl>()) {}
MetricsWriter::~MetricsWriter() = default;

void MetricsWriter::begin_cache(std::string_view cache_name, std::string_view backend) {
  std::string& l = impl_->cache_labels;
  l = "cache=\"";
  append_escaped(l, cache_name, true);
  l += "\",backend=\"";
  append_escaped(l, backend, true);
  l += '"';
}

void MetricsWriter::counter(std::string_view name, std::string_view help, std::uint64_t value,
                            const std::vector<MetricLabel>& labels) {
  impl_->sample(impl_->family(name, help, Type::counter), "", labels, {}, std::to_string(value));
}

void MetricsWriter::gauge(std::string_view name, std::string_view help, double value,
                          const std::vector<MetricLabel>& labels) {
  impl_->sample(impl_->family(name, help, Type::gauge), "", labels, {}, number(value));
}

void MetricsWriter::histogram(std::string_view name, std::string_view help, const LatencySnapshot& h,
                              const std::vector<MetricLabel>& labels) {
  auto& f = impl_->family(name, help, Type::histogram);
  const auto& bounds = latency_bucket_bounds();
  std::uint64_t cumulative = 0;
  for (std::size_t i = 0; i < kLatencyBuckets; ++i) {
    cumulative += h.buckets[i];
    impl_->sample(f, "_bucket", labels, number(bounds[i]), std::to_string(cumulative));
  }
  cumulative += h.buckets[kLatencyBuckets];
  impl_->sample(f, "_bucket", labels, "+Inf", std::to_string(cumulative));
  impl_->sample(f, "_sum", labels, {}, number(h.sum_seconds));
  impl_->sample(f, "_count", labels, {}, std::to_string(cumulative));
}

std::string MetricsWriter::text() const {
  std::string out;
  for (const auto& f : impl_->families) {
    out += "# HELP ";
    out += f.name;
    out += ' ';
    append_escaped(out, f.help, false);
    out += "\n# TYPE ";
    out += f.name;
    out += ' ';
    out += type_name(f.type);
    out += '\n';
    out += f.samples;
  }
  return out;
}

// ---- the families every cache has ------------------------------------------

namespace metrics {

void declare_core_families(MetricsWriter& w) {
  auto& im = MetricsAccess::impl(w);
  for (const auto& row : kCounterRows) im.family(row.name, row.help, Type::counter);
  im.family(kErrorsName, kErrorsHelp, Type::counter);
  for (const auto& row : kGaugeRows) im.family(row.name, row.help, Type::gauge);
  im.family(kCallsName, kCallsHelp, Type::counter);
  im.family(kLatencyName, kLatencyHelp, Type::histogram);
}

void write_cache(MetricsWriter& w, const Cache& cache, std::string_view cache_name) {
  w.begin_cache(cache_name, cache.backend());
  const CacheStats s = cache.stats();
  for (const auto& row : kCounterRows) w.counter(row.name, row.help, s.*row.field);
  for (const auto& row : kErrorRows) w.counter(kErrorsName, kErrorsHelp, s.*row.field, {{"kind", to_string(row.kind)}});
  for (const auto& row : kGaugeRows) w.gauge(row.name, row.help, static_cast<double>(s.*row.field));
  LatencySnapshot latency[kOps];
  for (std::size_t i = 0; i < kOps; ++i) latency[i] = cache.latency(static_cast<Op>(i));
  for (std::size_t i = 0; i < kOps; ++i) {
    w.counter(kCallsName, kCallsHelp, latency[i].calls, {{"op", to_string(static_cast<Op>(i))}});
  }
  for (std::size_t i = 0; i < kOps; ++i) {
    w.histogram(kLatencyName, kLatencyHelp, latency[i], {{"op", to_string(static_cast<Op>(i))}});
  }
  MetricsAccess::collect(cache, w);
}

}  // namespace metrics

std::string prometheus_text(const Cache& cache, std::string_view cache_name) {
  MetricsWriter w;
  metrics::write_cache(w, cache, cache_name);
  return w.text();
}

}  // namespace cachet
