// --selfcheck: the Zipf sampler against the exact Zipf pmf.
#include <cmath>
#include <cstdio>
#include <random>
#include <vector>

#include "suites.hpp"
#include "zipf.hpp"

namespace cachet::bench {

int zipf_selfcheck() {
  // For a small n every rank gets thousands of samples, so the empirical
  // frequency must match the pmf to within a few standard errors. Reported:
  // the largest relative error over all ranks, the largest |z| (error in
  // standard errors), and chi^2 / degrees of freedom (about 1 when correct).
  const std::size_t samples = 4'000'000;
  int failures = 0;
  std::printf("Zipf rejection-inversion sampler vs exact pmf, %zu samples per case\n", samples);
  std::printf("%8s %6s %14s %10s %12s  %s\n", "n", "s", "max rel err", "max |z|", "chi2/df", "result");
  for (std::uint64_t n : {1ull, 2ull, 10ull, 100ull}) {
    for (double s : {0.5, 0.7, 0.9, 0.99, 1.0, 1.2, 2.0}) {
      ZipfSampler zipf(n, s);
      std::mt19937_64 rng(12345 + 1000 * n + static_cast<std::uint64_t>(s * 100));
      std::vector<std::uint64_t> count(n + 1, 0);
      bool out_of_range = false;
      for (std::size_t i = 0; i < samples; ++i) {
        const auto k = zipf(rng);
        if (k < 1 || k > n) out_of_range = true; else ++count[k];
      }
      double max_rel = 0, max_z = 0, chi2 = 0;
      for (std::uint64_t k = 1; k <= n; ++k) {
        const double p = zipf.pmf(k);
        const double expected = p * static_cast<double>(samples);
        const double diff = static_cast<double>(count[k]) - expected;
        max_rel = std::max(max_rel, std::fabs(diff) / expected);
        const double sd = std::sqrt(expected * (1 - p));
        if (sd > 0) max_z = std::max(max_z, std::fabs(diff) / sd);
        chi2 += diff * diff / expected;
      }
      const double df = n > 1 ? static_cast<double>(n - 1) : 1.0;
      // A correct sampler exceeds |z| = 5 with probability ~6e-7 per rank, and
      // chi^2 exceeds its mean by 5 standard deviations with p < 0.005 for any df.
      const bool ok = !out_of_range && max_z < 5.0 && (n == 1 || (chi2 - df) / std::sqrt(2 * df) < 5.0);
      if (!ok) ++failures;
      std::printf("%8llu %6.2f %13.4f%% %10.2f %12.3f  %s\n", static_cast<unsigned long long>(n), s, 100 * max_rel,
                  max_z, n > 1 ? chi2 / df : 0.0, ok ? "ok" : "FAIL");
    }
  }
  // The check can fail: a sampler with exponent 1.05 judged against the pmf
  // of 1.0 must be rejected, or the check above proves nothing.
  {
    const std::uint64_t n = 100;
    ZipfSampler wrong(n, 1.05), right(n, 1.0);
    std::mt19937_64 rng(4242);
    std::vector<std::uint64_t> count(n + 1, 0);
    for (std::size_t i = 0; i < samples; ++i) ++count[wrong(rng)];
    double chi2 = 0;
    for (std::uint64_t k = 1; k <= n; ++k) {
      const double expected = right.pmf(k) * static_cast<double>(samples);
      const double diff = static_cast<double>(count[k]) - expected;
      chi2 += diff * diff / expected;
    }
    const double df = static_cast<double>(n - 1);
    const bool detected = (chi2 - df) / std::sqrt(2 * df) >= 5.0;
    if (!detected) ++failures;
    std::printf("%8llu %6s %14s %10s %12.3f  %s\n", static_cast<unsigned long long>(n), "1.05", "vs pmf(1.0)", "-",
                chi2 / df, detected ? "ok (rejected, as it must be)" : "FAIL (not detected)");
  }
  // Large n: the head of the distribution (ranks 1..20 of one million).
  for (double s : {0.7, 0.9, 0.99, 1.2}) {
    const std::uint64_t n = 1'000'000;
    ZipfSampler zipf(n, s);
    std::mt19937_64 rng(777);
    std::vector<std::uint64_t> count(21, 0);
    for (std::size_t i = 0; i < samples; ++i) {
      const auto k = zipf(rng);
      if (k <= 20) ++count[k];
    }
    double norm = 0;
    for (std::uint64_t k = n; k >= 1; --k) norm += std::pow(static_cast<double>(k), -s);
    double max_rel = 0, max_z = 0;
    for (std::uint64_t k = 1; k <= 20; ++k) {
      const double p = std::pow(static_cast<double>(k), -s) / norm;
      const double expected = p * static_cast<double>(samples);
      const double diff = static_cast<double>(count[k]) - expected;
      max_rel = std::max(max_rel, std::fabs(diff) / expected);
      max_z = std::max(max_z, std::fabs(diff) / std::sqrt(expected * (1 - p)));
    }
    const bool ok = max_z < 5.0;
    if (!ok) ++failures;
    std::printf("%8s %6.2f %13.4f%% %10.2f %12s  %s  (ranks 1-20 of 1M)\n", "1000000", s, 100 * max_rel, max_z, "-",
                ok ? "ok" : "FAIL");
  }
  std::printf("selfcheck: %s\n", failures ? "FAIL" : "PASS");
  return failures ? 1 : 0;
}

}  // namespace cachet::bench
