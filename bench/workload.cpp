#include "workload.hpp"

#include <algorithm>
#include <cstdio>
#include <numeric>
#include <stdexcept>

#include "zipf.hpp"

namespace cachet::bench {

KeySet::KeySet(std::size_t count, std::string_view prefix)
    : count_(count), width_(prefix.size() + 14) {
  if (count > 10'000'000'000ull) throw std::invalid_argument("KeySet: at most 10^10 keys");
  buf_.resize(count * width_);
  char digits[16];
  for (std::size_t i = 0; i < count; ++i) {
    char* out = buf_.data() + i * width_;
    std::copy(prefix.begin(), prefix.end(), out);
    std::snprintf(digits, sizeof digits, "%010zu", i);
    std::copy_n("key:", 4, out + prefix.size());
    std::copy_n(digits, 10, out + prefix.size() + 4);
  }
}

std::vector<std::uint32_t> scramble(std::size_t n, std::uint64_t seed) {
  std::vector<std::uint32_t> perm(n);
  std::iota(perm.begin(), perm.end(), 0u);
  std::mt19937_64 rng(seed);
  // Fisher-Yates with an unbiased bounded draw.
  for (std::size_t i = n; i > 1; --i) {
    std::uniform_int_distribution<std::size_t> pick(0, i - 1);
    std::swap(perm[i - 1], perm[pick(rng)]);
  }
  return perm;
}

std::vector<Op> zipf_trace(std::size_t length, double s, const std::vector<std::uint32_t>& perm,
                           double set_fraction, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  ZipfSampler zipf(perm.size(), s);
  std::vector<Op> trace(length);
  for (auto& op : trace) {
    op = perm[zipf(rng) - 1];
    if (set_fraction > 0 && uniform01(rng) < set_fraction) op |= kSetBit;
  }
  return trace;
}

std::vector<Op> scan_mixed_trace(std::size_t length, const std::vector<std::uint32_t>& perm, std::size_t burst,
                                 double scan_fraction, std::uint64_t seed, std::size_t* max_id) {
  std::mt19937_64 rng(seed);
  ZipfSampler zipf(perm.size(), 0.9);
  // Zipf stretches between bursts average burst * (1 - f) / f requests and vary
  // uniformly by +-50%, so bursts do not come at a fixed period.
  const double mean_gap = static_cast<double>(burst) * (1.0 - scan_fraction) / scan_fraction;
  std::vector<Op> trace;
  trace.reserve(length);
  std::uint32_t next_scan_id = static_cast<std::uint32_t>(perm.size());
  while (trace.size() < length) {
    const auto gap = static_cast<std::size_t>(mean_gap * (0.5 + uniform01(rng)));
    for (std::size_t i = 0; i < gap && trace.size() < length; ++i) trace.push_back(perm[zipf(rng) - 1]);
    for (std::size_t i = 0; i < burst && trace.size() < length; ++i) trace.push_back(next_scan_id++);
  }
  *max_id = next_scan_id;
  return trace;
}

std::string make_value(std::size_t n, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::string v(n, ' ');
  for (auto& c : v) c = static_cast<char>('a' + rng() % 26);
  return v;
}

}  // namespace cachet::bench
