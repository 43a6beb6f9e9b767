// Internal: what the factory's probe and `cachet probe` say about a TLS
// session: one line describing it, and the warning for a server certificate
// close to its expiry.
#pragma once

#include <chrono>
#include <optional>
#include <string>

#include "cachet/tls_options.hpp"

namespace cachet::detail {

/// How long before a server certificate's end of validity the probe warns.
inline constexpr std::chrono::hours kCertificateWarningWindow{24 * 14};

/// "2026-12-10 14:03:00 UTC".
std::string utc_text(std::chrono::system_clock::time_point t);

/// "TLSv1.3, TLS_AES_256_GCM_SHA384; server certificate CN=localhost (issuer
/// CN=My CA), valid until 2026-12-10 14:03:00 UTC".
std::string describe_tls(const TlsSessionInfo& tls);

/// A warning naming the certificate and its expiry when it expires within
/// kCertificateWarningWindow of `now` (or has expired: possible with
/// ssl_cert_reqs=none); nullopt otherwise and when the server sent none.
std::optional<std::string> certificate_expiry_warning(const TlsSessionInfo& tls,
                                                      std::chrono::system_clock::time_point now);

}  // namespace cachet::detail
