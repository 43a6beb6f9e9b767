// Redis Cluster's pure pieces, from their source: the key -> slot function
// (checked against values Redis itself computes with CLUSTER KEYSLOT) and the
// MOVED / ASK reply parsing.
#include <gtest/gtest.h>

#include "redis/crc16.hpp"
#include "redis/error_map.hpp"

using cachet::redis::crc16;
using cachet::redis::key_slot;
using cachet::redis::parse_redirection;

TEST(ClusterSlots, Crc16IsXmodem) {
  EXPECT_EQ(crc16("123456789"), 0x31C3);  // the CRC-16/XMODEM check value
  EXPECT_EQ(crc16(""), 0);
}

TEST(ClusterSlots, SlotsAgreeWithRedis) {
  // redis-cli CLUSTER KEYSLOT <key> on Redis 7.0.
  EXPECT_EQ(key_slot("", "foo"), 12182);
  EXPECT_EQ(key_slot("", "bar"), 5061);
  EXPECT_EQ(key_slot("", "somekey"), 11058);
  EXPECT_EQ(key_slot("", "{user1000}.following"), key_slot("", "{user1000}.followers"));
  EXPECT_EQ(key_slot("", "{user1000}.following"), key_slot("", "user1000"));
}

TEST(ClusterSlots, ThePrefixIsPartOfTheKey) {
  // The same text, split differently between prefix and key.
  EXPECT_EQ(key_slot("cachet:", "foo"), key_slot("", "cachet:foo"));
  EXPECT_EQ(key_slot("cach", "et:foo"), key_slot("", "cachet:foo"));
  // A tag spanning the split, in the prefix, or only in the key.
  EXPECT_EQ(key_slot("app{us", "er}:1"), key_slot("", "user"));
  EXPECT_EQ(key_slot("{tenant7}:", "a"), key_slot("{tenant7}:", "b"));
  EXPECT_EQ(key_slot("p:", "{x}1"), key_slot("", "x"));
  // Only the first '{' counts; an empty tag hashes the whole key.
  EXPECT_EQ(key_slot("", "a{b}{c}"), key_slot("", "b"));
  EXPECT_EQ(key_slot("", "{}x"), static_cast<int>(crc16("{}x") & 16383));
  EXPECT_EQ(key_slot("", "{x"), static_cast<int>(crc16("{x") & 16383));
}

TEST(ClusterSlots, RedirectionsAreParsed) {
  auto moved = parse_redirection("MOVED 3999 127.0.0.1:6381");
  ASSERT_TRUE(moved);
  EXPECT_EQ(moved->slot, 3999);
  EXPECT_EQ(moved->host, "127.0.0.1");
  EXPECT_EQ(moved->port, 6381);
  auto ask = parse_redirection("ASK 1 ::1:7000");
  ASSERT_TRUE(ask);
  EXPECT_EQ(ask->host, "::1");
  EXPECT_EQ(ask->port, 7000);
  auto unknown_host = parse_redirection("MOVED 16383 :7001");
  ASSERT_TRUE(unknown_host);
  EXPECT_EQ(unknown_host->host, "");
  EXPECT_EQ(unknown_host->slot, 16383);
  for (const char* bad : {"MOVED", "MOVED 3999", "MOVED x 1.2.3.4:5", "MOVED 16384 h:1", "MOVED 1 h:0", "MOVED 1 h:99999",
                          "MOVED 1 h", "TRYAGAIN Multiple keys", "ERR MOVED 1 h:1"}) {
    EXPECT_FALSE(parse_redirection(bad)) << bad;
  }
}
