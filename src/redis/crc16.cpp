#include "redis/crc16.hpp"

#include <array>
#include <cstddef>

namespace cachet::redis {

namespace {

constexpr std::array<std::uint16_t, 256> make_table() {
  std::array<std::uint16_t, 256> t{};
  for (unsigned i = 0; i < 256; ++i) {
    unsigned crc = i << 8;
    for (int bit = 0; bit < 8; ++bit) crc = (crc & 0x8000u) ? (crc << 1) ^ 0x1021u : crc << 1;
    t[i] = static_cast<std::uint16_t>(crc & 0xffffu);
  }
  return t;
}

constexpr auto kTable = make_table();

// The text `prefix + key` without concatenating it: the byte at i, and the
// part [begin, end) fed to the CRC.
struct Joined {
  std::string_view a, b;
  std::size_t size() const noexcept { return a.size() + b.size(); }
  char at(std::size_t i) const noexcept { return i < a.size() ? a[i] : b[i - a.size()]; }
  std::size_t find(char c, std::size_t from) const noexcept {
    for (std::size_t i = from; i < size(); ++i) {
      if (at(i) == c) return i;
    }
    return std::string_view::npos;
  }
  std::uint16_t crc(std::size_t begin, std::size_t end) const noexcept {
    std::uint16_t c = 0;
    if (begin < a.size()) c = crc16(a.substr(begin, std::min(end, a.size()) - begin), c);
    if (end > a.size()) {
      const std::size_t from = begin > a.size() ? begin - a.size() : 0;
      c = crc16(b.substr(from, end - a.size() - from), c);
    }
    return c;
  }
};

}  // namespace

std::uint16_t crc16(std::string_view data, std::uint16_t crc) noexcept {
  for (unsigned char byte : data) {
    crc = static_cast<std::uint16_t>((crc << 8) ^ kTable[((crc >> 8) ^ byte) & 0xffu]);
  }
  return crc;
}

int key_slot(std::string_view prefix, std::string_view key) noexcept {
  const Joined k{prefix, key};
  std::size_t begin = 0;
  std::size_t end = k.size();
  if (const auto open = k.find('{', 0); open != std::string_view::npos) {
    const auto close = k.find('}', open + 1);
    if (close != std::string_view::npos && close > open + 1) {
      begin = open + 1;
      end = close;
    }
  }
  return k.crc(begin, end) & (kClusterSlots - 1);
}

}  // namespace cachet::redis
