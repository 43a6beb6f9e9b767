#include "core/entry_header.hpp"

#include <chrono>

namespace cachet::detail {

namespace {

void put_i64(std::string& out, std::int64_t v) {
  const auto u = static_cast<std::uint64_t>(v);
  for (int shift = 56; shift >= 0; shift -= 8) out += static_cast<char>((u >> shift) & 0xFF);
}

std::int64_t get_i64(std::string_view v, std::size_t at) {
  std::uint64_t u = 0;
  for (std::size_t i = 0; i < 8; ++i) u = (u << 8) | static_cast<unsigned char>(v[at + i]);
  return static_cast<std::int64_t>(u);
}

}  // namespace

std::optional<EntryHeader> parse_entry(std::string_view v) noexcept {
  if (!looks_like_entry(v)) return std::nullopt;
  if (v[4] != 0 || v[5] != 0 || v[6] != 0 || v[7] != 0) return std::nullopt;  // no codec/compression yet
  if ((static_cast<unsigned char>(v[3]) & ~kEntryThrottled) != 0) return std::nullopt;
  EntryHeader h;
  h.flags = static_cast<std::uint8_t>(v[3]);
  h.written_at_ms = get_i64(v, 8);
  h.fresh_until_ms = get_i64(v, 16);
  h.stale_until_ms = get_i64(v, 24);
  if (h.written_at_ms < 0 || h.fresh_until_ms < h.written_at_ms || h.stale_until_ms < h.fresh_until_ms) {
    return std::nullopt;
  }
  return h;
}

std::string make_entry(const EntryHeader& header, std::string_view payload) {
  std::string out;
  out.reserve(kEntryHeaderSize + payload.size());
  out += '\xFF';
  out += '\xCA';
  out += static_cast<char>(kEntryVersion);
  out += static_cast<char>(header.flags);
  out.append(4, '\0');
  put_i64(out, header.written_at_ms);
  put_i64(out, header.fresh_until_ms);
  put_i64(out, header.stale_until_ms);
  out.append(payload.data(), payload.size());
  return out;
}

std::int64_t unix_now_ms() noexcept {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

void strip_entry_for_get(std::optional<std::string>& value) {
  const auto header = parse_entry(*value);
  if (!header) return;  // plain bytes that happen to start like a header
  if (unix_now_ms() >= header->fresh_until_ms) {
    value.reset();  // stale: only get_or_set may serve it
    return;
  }
  value->erase(0, kEntryHeaderSize);
}

}  // namespace cachet::detail
