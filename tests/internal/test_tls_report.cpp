// The TLS part of the factory's report: the description of a session and the
// warning for a server certificate that expires within 14 days.
#include "factory/tls_report.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <string>

using cachet::TlsSessionInfo;
using namespace std::chrono_literals;

namespace {

// 2026-12-10 14:03:00 UTC.
const auto kNow = std::chrono::system_clock::from_time_t(1796911380);

TlsSessionInfo session(std::chrono::system_clock::duration left) {
  TlsSessionInfo s;
  s.version = "TLSv1.3";
  s.cipher = "TLS_AES_256_GCM_SHA384";
  s.peer_subject = "CN=redis.internal";
  s.peer_issuer = "CN=My CA";
  s.peer_not_after = kNow + left;
  return s;
}

}  // namespace

TEST(TlsReport, DescribesTheSession) {
  EXPECT_EQ(cachet::detail::utc_text(kNow), "2026-12-10 14:03:00 UTC");
  EXPECT_EQ(cachet::detail::describe_tls(session(24h)),
            "TLSv1.3, TLS_AES_256_GCM_SHA384; server certificate CN=redis.internal (issuer CN=My CA), valid until "
            "2026-12-11 14:03:00 UTC");
}

TEST(TlsReport, WarnsWithinFourteenDaysOfExpiry) {
  using cachet::detail::certificate_expiry_warning;
  EXPECT_FALSE(certificate_expiry_warning(session(24h * 14 + 1s), kNow).has_value());
  EXPECT_FALSE(certificate_expiry_warning(session(24h * 365), kNow).has_value());
  const auto at_window = certificate_expiry_warning(session(24h * 14), kNow);
  ASSERT_TRUE(at_window.has_value());
  EXPECT_EQ(*at_window,
            "the Redis server's TLS certificate CN=redis.internal expires on 2026-12-24 14:03:00 UTC, in 14 days; "
            "renew it before then, or connections will fail (docs/security.md)");
  EXPECT_NE(certificate_expiry_warning(session(36h), kNow)->find(", in 1 day;"), std::string::npos);
  EXPECT_NE(certificate_expiry_warning(session(2h), kNow)->find(", in less than a day;"), std::string::npos);
  EXPECT_NE(certificate_expiry_warning(session(-1h), kNow)->find("expired on 2026-12-10 13:03:00 UTC"),
            std::string::npos);
  // A server that sent no certificate (possible only without verification).
  TlsSessionInfo none;
  EXPECT_FALSE(certificate_expiry_warning(none, kNow).has_value());
}
