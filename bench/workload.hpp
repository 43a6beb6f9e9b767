// bench/workload.hpp — keys, values and request traces, all generated before timing.
//
// Keys are fixed-width strings ("key:0000012345", optionally prefixed) in one
// contiguous buffer, so a timed loop finds key i with one multiplication.
// Zipf ranks are scrambled to key ids by a seeded random permutation, so rank 1
// is not key 0 and popular keys are spread over hash shards like real ones.
#pragma once

#include <cstddef>
#include <cstdint>
#include <random>
#include <string>
#include <string_view>
#include <vector>

namespace cachet::bench {

/// Keys "<prefix>key:<10-digit id>" for ids 0..count-1.
class KeySet {
 public:
  KeySet(std::size_t count, std::string_view prefix = {});
  std::string_view operator[](std::size_t id) const { return {buf_.data() + id * width_, width_}; }
  std::size_t size() const { return count_; }
  std::size_t width() const { return width_; }

 private:
  std::size_t count_;
  std::size_t width_;
  std::string buf_;
};

/// A request: key id in the low 31 bits, "is a set" in the top bit.
using Op = std::uint32_t;
constexpr Op kSetBit = 0x8000'0000u;
inline std::uint32_t op_key(Op op) { return op & ~kSetBit; }
inline bool op_is_set(Op op) { return (op & kSetBit) != 0; }

/// A random permutation of 0..n-1 (rank - 1 -> key id).
std::vector<std::uint32_t> scramble(std::size_t n, std::uint64_t seed);

/// `length` requests over `perm.size()` keys, Zipf(s) ranks mapped through
/// `perm`; each request is a set with probability `set_fraction`.
std::vector<Op> zipf_trace(std::size_t length, double s, const std::vector<std::uint32_t>& perm,
                           double set_fraction, std::uint64_t seed);

/// Zipf(0.9) over `perm` interleaved with bursts of `burst` one-off sequential
/// keys (ids perm.size(), perm.size()+1, ... never repeated), so that about
/// `scan_fraction` of the requests are scan keys. All requests are gets.
/// `*max_id` receives one past the largest key id used.
std::vector<Op> scan_mixed_trace(std::size_t length, const std::vector<std::uint32_t>& perm, std::size_t burst,
                                 double scan_fraction, std::uint64_t seed, std::size_t* max_id);

/// `n` bytes of printable pseudo-random data.
std::string make_value(std::size_t n, std::uint64_t seed);

}  // namespace cachet::bench
