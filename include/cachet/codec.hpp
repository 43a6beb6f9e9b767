// cachet/codec.hpp — turning typed values into cache bytes and back.
//
// `Codec<T>` is the customization point behind Cache::get_as<T> / set_as<T>.
// A codec has two static functions:
//
//   static std::string encode(const T& value);
//   static std::optional<T> decode(std::string_view bytes);  // nullopt = does not decode
//
// Built in: std::string (as is), integral types (decimal text, so a value written
// by set_as<int64_t> is what Redis INCRBY and Cache::increment understand),
// floating point (shortest text that round-trips exactly, via std::to_chars),
// and bool ("1"/"0"; decode also accepts "true"/"false"). Decoding is strict:
// no leading/trailing spaces, no trailing garbage, no out-of-range values.
//
// To cache your own type, specialize it in namespace cachet:
//
//   template <> struct cachet::Codec<Point> {
//     static std::string encode(const Point& p) { ... }
//     static std::optional<Point> decode(std::string_view s) { ... }
//   };
//
// Codecs are stateless; the built-in ones are thread-safe and never throw on
// bad input (they return nullopt).
#pragma once

#include <charconv>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <type_traits>

namespace cachet {

/// Primary template: deliberately undefined. Specialize it for your type.
template <class T, class Enable = void>
struct Codec;

template <>
struct Codec<std::string> {
  static std::string encode(const std::string& v) { return v; }
  static std::optional<std::string> decode(std::string_view s) { return std::string(s); }
};

template <>
struct Codec<bool> {
  static std::string encode(bool v) { return v ? "1" : "0"; }
  static std::optional<bool> decode(std::string_view s) {
    if (s == "1" || s == "true") return true;
    if (s == "0" || s == "false") return false;
    return std::nullopt;
  }
};

template <class T>
struct Codec<T, std::enable_if_t<std::is_integral_v<T> && !std::is_same_v<T, bool>>> {
  static std::string encode(T v) {
    char buf[24];
    auto r = std::to_chars(buf, buf + sizeof buf, v);
    return std::string(buf, r.ptr);
  }
  static std::optional<T> decode(std::string_view s) {
    if (s.empty()) return std::nullopt;
    T v{};
    auto r = std::from_chars(s.data(), s.data() + s.size(), v);
    if (r.ec != std::errc() || r.ptr != s.data() + s.size()) return std::nullopt;
    return v;
  }
};

template <class T>
struct Codec<T, std::enable_if_t<std::is_floating_point_v<T>>> {
  static std::string encode(T v) {
    char buf[64];
    auto r = std::to_chars(buf, buf + sizeof buf, v);  // shortest exact round trip
    return std::string(buf, r.ptr);
  }
  static std::optional<T> decode(std::string_view s) {
    if (s.empty()) return std::nullopt;
    // libstdc++ 12 parses long double with strtold, which reads past the end of
    // an unterminated buffer for "inf"/"nan" (found by tests/fuzz/fuzz_codec):
    // give it a NUL-terminated copy.
    std::string terminated;
    if constexpr (std::is_same_v<T, long double>) terminated.assign(s.data(), s.size());
    const char* first = terminated.empty() ? s.data() : terminated.data();
    const char* last = first + s.size();
    T v{};
    auto r = std::from_chars(first, last, v);
    if (r.ec != std::errc() || r.ptr != last) return std::nullopt;
    return v;
  }
};

}  // namespace cachet
