// Internal: the header get_or_set puts in front of a value written with
// fail_safe or eager_refresh, so that any process (and any language) can tell
// whether the value is fresh, may still be served stale, and when it was
// loaded. Values written by set() carry no header: plain bytes.
//
// Layout (32 bytes, integers big-endian; documented in docs/loading.md):
//   0-1   magic 0xFF 0xCA (0xFF never appears in UTF-8 text)
//   2     version (1)
//   3     flags: bit 0 = throttled (a stale value re-served after the loader failed)
//   4     codec id (0 = raw bytes), 5 compression id (0 = none): room for later
//   6-7   reserved, 0
//   8-15  written_at   Unix time in ms when the value was loaded
//   16-23 fresh_until  Unix time in ms when it turns stale (INT64_MAX: never)
//   24-31 stale_until  Unix time in ms after which it must not be served at all
//   32-   the value
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace cachet::detail {

inline constexpr std::size_t kEntryHeaderSize = 32;
inline constexpr std::uint8_t kEntryVersion = 1;
inline constexpr std::uint8_t kEntryThrottled = 0x01;

struct EntryHeader {
  std::uint8_t flags = 0;
  std::int64_t written_at_ms = 0;
  std::int64_t fresh_until_ms = 0;
  std::int64_t stale_until_ms = 0;

  bool throttled() const noexcept { return (flags & kEntryThrottled) != 0; }
};

/// Cheap test (a few byte compares) used on every get(): could `v` be an entry
/// with a header? A false positive is settled by parse_entry().
inline bool looks_like_entry(std::string_view v) noexcept {
  return v.size() >= kEntryHeaderSize && v[0] == '\xFF' && v[1] == '\xCA' && v[2] == '\x01';
}

/// The header of `v`, or nullopt when `v` is plain bytes (wrong magic or
/// version, non-zero reserved bytes, timestamps out of order).
std::optional<EntryHeader> parse_entry(std::string_view v) noexcept;

/// The header followed by `payload`.
std::string make_entry(const EntryHeader& header, std::string_view payload);

/// The value after the header.
inline std::string_view entry_payload(std::string_view v) noexcept { return v.substr(kEntryHeaderSize); }

/// Unix time in milliseconds (the wall clock: entries are shared between
/// processes and hosts, so their clocks must agree; see docs/loading.md).
std::int64_t unix_now_ms() noexcept;

/// What get() makes of a stored value: plain bytes are returned as they are;
/// an entry with a header is its payload while fresh, a miss once stale.
void strip_entry_for_get(std::optional<std::string>& value);

}  // namespace cachet::detail
