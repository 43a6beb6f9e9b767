// libFuzzer target: every built-in Codec<T>::decode on arbitrary bytes.
//
// Properties checked for each T (all integral widths, float, double, long
// double, bool, std::string):
//   * decode never crashes, never throws (a sanitizer or libFuzzer reports it);
//   * decoding is strict: input with leading or trailing whitespace is refused;
//   * whatever decodes re-encodes to text that decodes to the same value
//     (bit-identical for floating point, any NaN stays a NaN of the same sign),
//     and encoding is stable: encode(decode(encode(v))) == encode(v).
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>

#include "cachet/codec.hpp"

namespace {

[[noreturn]] void fail(const char* what, std::string_view input) {
  std::fprintf(stderr, "fuzz_codec: %s (input of %zu bytes)\n", what, input.size());
  std::abort();
}

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'; }

template <class T>
bool same_value(const T& a, const T& b) {
  if constexpr (std::is_floating_point_v<T>) {
    if (std::isnan(a) || std::isnan(b)) return std::isnan(a) && std::isnan(b) && std::signbit(a) == std::signbit(b);
    return std::memcmp(&a, &b, sizeof(T)) == 0 || (a == b && std::signbit(a) == std::signbit(b));
  } else {
    return a == b;
  }
}

template <class T>
void check(std::string_view input) {
  using C = cachet::Codec<T>;
  const std::optional<T> v = C::decode(input);
  if (!v) return;
  if constexpr (!std::is_same_v<T, std::string>) {
    if (input.empty()) fail("empty input decoded", input);
    if (is_space(input.front()) || is_space(input.back())) fail("input with surrounding whitespace decoded", input);
  }
  const std::string e1 = C::encode(*v);
  const std::optional<T> v2 = C::decode(e1);
  if (!v2) fail("encode(decode(x)) does not decode", input);
  if (!same_value(*v, *v2)) fail("decode(encode(decode(x))) != decode(x)", input);
  const std::string e2 = C::encode(*v2);
  if (e1 != e2) fail("encoding is not stable", input);
  if constexpr (std::is_same_v<T, std::string>) {
    if (*v != input) fail("string codec changed the bytes", input);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  check<char>(in);
  check<signed char>(in);
  check<unsigned char>(in);
  check<short>(in);
  check<unsigned short>(in);
  check<int>(in);
  check<unsigned>(in);
  check<long>(in);
  check<unsigned long>(in);
  check<long long>(in);
  check<unsigned long long>(in);
  check<std::int8_t>(in);
  check<std::uint16_t>(in);
  check<std::int32_t>(in);
  check<std::uint64_t>(in);
  check<float>(in);
  check<double>(in);
  check<long double>(in);
  check<bool>(in);
  check<std::string>(in);
  return 0;
}
