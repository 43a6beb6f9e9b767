// The test-key round trip; see probe.hpp.
#include "core/probe.hpp"

#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <random>
#include <string>

namespace cachet::detail {

namespace {

std::string random_hex(std::size_t n) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::random_device rd;
  std::mt19937_64 gen((static_cast<std::uint64_t>(rd()) << 32) ^ rd() ^
                      static_cast<std::uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count()));
  std::uniform_int_distribution<int> digit(0, 15);
  std::string s;
  s.reserve(n);
  for (std::size_t i = 0; i < n; ++i) s.push_back(kHex[digit(gen)]);
  return s;
}

}  // namespace

RoundTrip test_key_round_trip(Cache& cache) {
  RoundTrip r;
  const std::string key = "cachet-probe:" + std::to_string(::getpid()) + ":" + random_hex(16);
  const std::string value = random_hex(32);
  try {
    if (!cache.set(key, value, std::chrono::seconds(10))) {
      r.kind = ErrorKind::reply;
      r.reason = "probe SET was not acknowledged";
      return r;
    }
    const auto got = cache.get(key);
    if (!got || *got != value) {
      r.kind = ErrorKind::reply;
      r.reason = got ? "probe value mismatch (GET returned different bytes than were SET)"
                     : "probe value mismatch (the key was missing right after SET)";
      try {
        cache.remove(key);
      } catch (const BackendError&) {
        // The mismatch is the reason worth reporting; the key expires by itself.
      }
      return r;
    }
    cache.remove(key);
    r.ok = true;
  } catch (const BackendError& e) {
    r.kind = e.kind();
    r.reason = e.what();
  }
  return r;
}

}  // namespace cachet::detail
