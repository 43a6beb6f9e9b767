// Internal: the "name=value" lines of the stats snapshots' to_string().
#pragma once

#include <cstdint>
#include <string>

namespace cachet::detail {

/// Appends " name=value" (no leading space when `s` is empty).
inline void append_field(std::string& s, const char* name, std::uint64_t value) {
  if (!s.empty()) s += ' ';
  s += name;
  s += '=';
  s += std::to_string(value);
}

}  // namespace cachet::detail
