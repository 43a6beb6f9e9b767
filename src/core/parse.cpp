// The grammar of configuration values; see parse.hpp.
#include "core/parse.hpp"

#include <cctype>
#include <charconv>
#include <system_error>
#include <utility>

namespace cachet::parse {

namespace {

using std::chrono::milliseconds;

struct Unit {
  const char* suffix;
  std::int64_t ms;
  const char* example;
};

// Duration units, smallest first.
constexpr Unit kDurationUnits[] = {
    {"ms", 1, "250ms"},
    {"s", 1000, "30s"},
    {"m", 60'000, "5m"},
    {"h", 3'600'000, "1h"},
};

struct ByteUnit {
  const char* suffix;
  std::uint64_t factor;
};

constexpr ByteUnit kByteUnits[] = {
    {"KiB", std::uint64_t{1} << 10},
    {"MiB", std::uint64_t{1} << 20},
    {"GiB", std::uint64_t{1} << 30},
};

// Splits "250ms" into "250" and "ms": the unit is the trailing run of letters.
std::pair<std::string_view, std::string_view> split_unit(std::string_view s) {
  std::size_t i = s.size();
  while (i > 0 && std::isalpha(static_cast<unsigned char>(s[i - 1]))) --i;
  return {s.substr(0, i), s.substr(i)};
}

bool offered(const Unit& u, const DurationRule& rule) { return u.ms <= rule.max.count(); }

std::string count_of(std::uint64_t n, const char* one, const char* many) {
  return std::to_string(n) + " " + (n == 1 ? one : many);
}

// A duration in words, in the largest unit that divides it: "10 minutes".
std::string duration_words(milliseconds d) {
  struct Word {
    std::int64_t ms;
    const char* one;
    const char* many;
  };
  static constexpr std::int64_t kDay = std::int64_t{24} * 3'600'000;
  static constexpr Word kWords[] = {
      {365 * kDay, "year", "years"}, {kDay, "day", "days"},      {3'600'000, "hour", "hours"},
      {60'000, "minute", "minutes"}, {1000, "second", "seconds"},
  };
  const std::int64_t ms = d.count();
  if (ms > 0) {
    for (const Word& w : kWords) {
      if (ms % w.ms == 0) return count_of(static_cast<std::uint64_t>(ms / w.ms), w.one, w.many);
    }
  }
  return std::to_string(ms) + " ms";
}

// A size in words, in the largest binary unit that divides it: "1 TiB".
std::string size_words(std::uint64_t n) {
  static constexpr std::pair<std::uint64_t, const char*> kUnits[] = {
      {std::uint64_t{1} << 40, "TiB"}, {std::uint64_t{1} << 30, "GiB"},
      {std::uint64_t{1} << 20, "MiB"}, {std::uint64_t{1} << 10, "KiB"},
  };
  if (n > 0) {
    for (const auto& [factor, name] : kUnits) {
      if (n % factor == 0) return std::to_string(n / factor) + " " + name;
    }
  }
  return count_of(n, "byte", "bytes");
}

}  // namespace

std::optional<std::uint64_t> whole(std::string_view text) {
  if (text.empty()) return std::nullopt;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;  // from_chars alone would take a '-'
  }
  std::uint64_t v = 0;
  const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || ptr != text.data() + text.size()) return std::nullopt;
  return v;
}

std::string describe_whole(std::uint64_t min, std::uint64_t max) {
  return "a whole number from " + std::to_string(min) + " to " + std::to_string(max);
}

std::optional<milliseconds> duration(std::string_view text, const DurationRule& rule) {
  const auto [number, suffix] = split_unit(text);
  std::int64_t factor = 0;
  if (suffix.empty()) {
    factor = rule.bare_unit.count();
  } else {
    for (const Unit& u : kDurationUnits) {
      if (suffix == u.suffix && offered(u, rule)) factor = u.ms;
    }
  }
  if (factor <= 0) return std::nullopt;
  const auto n = whole(number);
  if (!n || *n > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max() / factor)) return std::nullopt;
  return milliseconds(static_cast<std::int64_t>(*n) * factor);
}

bool in_range(milliseconds d, const DurationRule& rule) { return d >= rule.min && d <= rule.max; }

std::string describe(const DurationRule& rule) {
  std::vector<std::string> units;
  std::string examples;
  for (const Unit& u : kDurationUnits) {
    if (!offered(u, rule)) continue;
    units.emplace_back(u.suffix);
    examples += (examples.empty() ? "" : ", ") + std::string(u.example);
  }
  const char* bare = rule.bare_unit.count() == 1000 ? "seconds" : "milliseconds";
  return std::string("a whole number of ") + bare + ", or a number with a unit " + either(units) + " (e.g. " +
         examples + "); " + range_words(rule);
}

std::string range_words(const DurationRule& rule) {
  if (rule.min.count() == 0) return "at most " + duration_words(rule.max);
  return "from " + duration_words(rule.min) + " to " + duration_words(rule.max);
}

std::string duration_text(milliseconds d) {
  const auto ms = d.count();
  if (ms != 0 && ms % 1000 == 0) return std::to_string(ms / 1000) + "s";
  return std::to_string(ms) + "ms";
}

std::optional<std::uint64_t> bytes(std::string_view text) {
  const auto [number, suffix] = split_unit(text);
  std::uint64_t factor = suffix.empty() ? 1 : 0;
  for (const ByteUnit& u : kByteUnits) {
    if (suffix == u.suffix) factor = u.factor;
  }
  if (factor == 0) return std::nullopt;
  const auto n = whole(number);
  if (!n || *n > std::numeric_limits<std::uint64_t>::max() / factor) return std::nullopt;
  return *n * factor;
}

std::string describe_bytes(std::uint64_t min, std::uint64_t max) {
  std::vector<std::string> units;
  for (const ByteUnit& u : kByteUnits) units.emplace_back(u.suffix);
  return "a whole number of bytes, or a number with a unit " + either(units) + " (e.g. 64MiB); from " +
         size_words(min) + " to " + size_words(max);
}

std::optional<bool> boolean(std::string_view text) {
  const std::string v = lower(text);
  if (v == "true" || v == "yes" || v == "on" || v == "1") return true;
  if (v == "false" || v == "no" || v == "off" || v == "0") return false;
  return std::nullopt;
}

std::optional<double> decimal(std::string_view text) {
  const auto dot = text.find('.');
  const std::string_view whole_part = text.substr(0, dot);
  const std::string_view fraction = dot == std::string_view::npos ? std::string_view() : text.substr(dot + 1);
  auto digits = [](std::string_view s) {
    for (char c : s) {
      if (c < '0' || c > '9') return false;
    }
    return true;
  };
  if (whole_part.empty() || whole_part.size() > 15 || !digits(whole_part)) return std::nullopt;
  if (dot != std::string_view::npos && (fraction.empty() || fraction.size() > 15 || !digits(fraction))) {
    return std::nullopt;
  }
  double v = 0;
  const auto r = std::from_chars(text.data(), text.data() + text.size(), v);
  if (r.ec != std::errc() || r.ptr != text.data() + text.size()) return std::nullopt;
  return v;
}

std::string decimal_text(double v) {
  char buf[64];
  const auto r = std::to_chars(buf, buf + sizeof buf, v);
  return std::string(buf, r.ptr);
}

std::string describe_boolean() { return "true, yes, on or 1; false, no, off or 0 (case-insensitive)"; }

std::string either(const std::vector<std::string>& items) {
  std::string out;
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (i > 0) out += i + 1 == items.size() ? " or " : ", ";
    out += items[i];
  }
  return out;
}

std::string lower(std::string_view text) {
  std::string out(text);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string quote(std::string_view value) {
  constexpr std::size_t kMax = 80;
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out = "\"";
  for (std::size_t i = 0; i < value.size() && i < kMax; ++i) {
    const auto c = static_cast<unsigned char>(value[i]);
    if (c < 0x20 || c == 0x7f || c == '"' || c == '\\') {
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 0xf];
    } else {
      out += static_cast<char>(c);
    }
  }
  if (value.size() > kMax) out += "...";
  out += '"';
  return out;
}

}  // namespace cachet::parse
