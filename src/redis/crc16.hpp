// Internal: Redis Cluster's key-to-slot function.
//
// A key's slot is CRC16 (XMODEM: polynomial 0x1021, initial value 0) of the
// key modulo 16384, where a key holding a non-empty "{tag}" hashes only the
// tag (the text between its first '{' and the first '}' after it). cachet
// stores `prefix + key`, so the slot is computed over that whole text: a
// prefix holding a {tag} puts every key of the cache in one slot.
#pragma once

#include <cstdint>
#include <string_view>

namespace cachet::redis {

/// Number of hash slots in a Redis Cluster.
inline constexpr int kClusterSlots = 16384;

/// CRC16-XMODEM of `data`, continuing from `crc` (0 to start).
std::uint16_t crc16(std::string_view data, std::uint16_t crc = 0) noexcept;

/// The cluster slot (0-16383) of the key `prefix + key`, hash tags honoured;
/// no concatenation is made.
int key_slot(std::string_view prefix, std::string_view key) noexcept;

}  // namespace cachet::redis
