// The TLS part of the probe's report (tls_report.hpp).
#include "factory/tls_report.hpp"

#include <ctime>

namespace cachet::detail {

std::string utc_text(std::chrono::system_clock::time_point t) {
  const std::time_t seconds = std::chrono::system_clock::to_time_t(t);
  std::tm utc{};
  if (gmtime_r(&seconds, &utc) == nullptr) return "(unknown date)";
  char text[32];
  if (std::strftime(text, sizeof text, "%Y-%m-%d %H:%M:%S UTC", &utc) == 0) return "(unknown date)";
  return text;
}

std::string describe_tls(const TlsSessionInfo& tls) {
  std::string s = tls.version + ", " + tls.cipher + "; server certificate ";
  s += tls.peer_subject.empty() ? std::string("(none)") : tls.peer_subject;
  if (!tls.peer_issuer.empty()) s += " (issuer " + tls.peer_issuer + ")";
  if (tls.peer_not_after != std::chrono::system_clock::time_point{}) {
    s += ", valid until " + utc_text(tls.peer_not_after);
  }
  return s;
}

std::optional<std::string> certificate_expiry_warning(const TlsSessionInfo& tls,
                                                      std::chrono::system_clock::time_point now) {
  if (tls.peer_not_after == std::chrono::system_clock::time_point{}) return std::nullopt;
  const auto left = tls.peer_not_after - now;
  if (left > kCertificateWarningWindow) return std::nullopt;
  const std::string who = "the Redis server's TLS certificate " + tls.peer_subject;
  if (left <= std::chrono::seconds(0)) {
    return who + " expired on " + utc_text(tls.peer_not_after) +
           " (accepted only because verification is off); replace it (docs/security.md)";
  }
  const auto days = std::chrono::duration_cast<std::chrono::hours>(left).count() / 24;
  const std::string in = days == 0 ? "less than a day" : std::to_string(days) + (days == 1 ? " day" : " days");
  return who + " expires on " + utc_text(tls.peer_not_after) + ", in " + in +
         "; renew it before then, or connections will fail (docs/security.md)";
}

}  // namespace cachet::detail
