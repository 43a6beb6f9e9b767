// Internal: the in-memory engine's key hash and key comparison. Inline because
// the hit path is a few dozen instructions and a call into libstdc++'s
// std::_Hash_bytes alone was ~80. Pure functions of their arguments: safe from
// any thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

namespace cachet::memory {

namespace bytes {

inline std::uint64_t load64(const char* p) noexcept {
  std::uint64_t v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
inline std::uint64_t load32(const char* p) noexcept {
  std::uint32_t v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

/// The 128-bit product of a and b, its halves XORed: every output bit depends
/// on every input bit of both factors, in one multiplication.
inline std::uint64_t fold_mul(std::uint64_t a, std::uint64_t b) noexcept {
  __extension__ typedef unsigned __int128 u128;  // NOLINT(modernize-use-using): __extension__ (for -Wpedantic) takes a typedef
  const u128 p = static_cast<u128>(a) * b;
  return static_cast<std::uint64_t>(p) ^ static_cast<std::uint64_t>(p >> 64);
}

/// memcmp(a, b, n) == 0, inlined for the short keys caches mostly hold.
inline bool equal(const char* a, const char* b, std::size_t n) noexcept {
  if (n > 32) return std::memcmp(a, b, n) == 0;
  if (n >= 8) {
    for (std::size_t i = 0; i + 8 < n; i += 8) {
      if (load64(a + i) != load64(b + i)) return false;
    }
    return load64(a + n - 8) == load64(b + n - 8);  // the last 8 bytes (may overlap)
  }
  if (n >= 4) return load32(a) == load32(b) && load32(a + n - 4) == load32(b + n - 4);
  for (std::size_t i = 0; i < n; ++i) {
    if (a[i] != b[i]) return false;
  }
  return true;
}

}  // namespace bytes

/// Hash of a key; the same function everywhere (shard choice, slot, tag). It
/// reads the key 8 bytes at a time (the last word overlapping the previous one
/// instead of a byte loop) and mixes each word in with a folded 64x64->128
/// multiplication, then once more with the length. Not keyed: like
/// std::hash, it is no defence against keys crafted to collide.
inline std::uint64_t hash_key(std::string_view key) noexcept {
  constexpr std::uint64_t k0 = 0x9E37'79B9'7F4A'7C15u;  // odd constants with well-spread bits
  constexpr std::uint64_t k1 = 0xC2B2'AE3D'27D4'EB4Fu;
  constexpr std::uint64_t k2 = 0xD6E8'FEB8'6659'FD93u;
  const char* p = key.data();
  const std::size_t n = key.size();
  std::uint64_t h = k0;
  if (n >= 8) {
    std::size_t i = 0;
    for (; i + 8 < n; i += 8) h = bytes::fold_mul(h ^ bytes::load64(p + i), k1);
    h = bytes::fold_mul(h ^ bytes::load64(p + n - 8), k2);
  } else if (n >= 4) {
    h = bytes::fold_mul(h ^ ((bytes::load32(p) << 32) | bytes::load32(p + n - 4)), k2);
  } else if (n > 0) {
    const auto b = [p](std::size_t i) { return static_cast<std::uint64_t>(static_cast<unsigned char>(p[i])); };
    h = bytes::fold_mul(h ^ ((b(0) << 16) | (b(n / 2) << 8) | b(n - 1)), k2);
  }
  return bytes::fold_mul(h ^ n, k0);
}

}  // namespace cachet::memory
