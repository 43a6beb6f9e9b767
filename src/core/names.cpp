// String names of public enums and the stats line.
#include <string>

#include "cachet/errors.hpp"
#include "cachet/stats.hpp"
#include "cachet/version.hpp"
#include "core/fields.hpp"

namespace cachet {

const char* to_string(ErrorKind kind) noexcept {
  switch (kind) {
    case ErrorKind::connection: return "connection";
    case ErrorKind::timeout: return "timeout";
    case ErrorKind::protocol: return "protocol";
    case ErrorKind::reply: return "reply";
    case ErrorKind::pool_exhausted: return "pool_exhausted";
    case ErrorKind::tls: return "tls";
  }
  return "unknown";
}

const char* to_string(ErrorCause cause) noexcept {
  switch (cause) {
    case ErrorCause::unspecified: return "unspecified";
    case ErrorCause::wrong_type: return "wrong_type";
    case ErrorCause::not_integer: return "not_integer";
    case ErrorCause::overflow: return "overflow";
    case ErrorCause::auth: return "auth";
    case ErrorCause::loading: return "loading";
    case ErrorCause::read_only: return "read_only";
    case ErrorCause::master_down: return "master_down";
    case ErrorCause::busy: return "busy";
    case ErrorCause::out_of_memory: return "out_of_memory";
    case ErrorCause::moved: return "moved";
    case ErrorCause::ask: return "ask";
    case ErrorCause::try_again: return "try_again";
    case ErrorCause::cluster_down: return "cluster_down";
    case ErrorCause::certificate_untrusted: return "certificate_untrusted";
    case ErrorCause::certificate_host_mismatch: return "certificate_host_mismatch";
    case ErrorCause::certificate_expired: return "certificate_expired";
    case ErrorCause::client_certificate_required: return "client_certificate_required";
    case ErrorCause::client_certificate_rejected: return "client_certificate_rejected";
    case ErrorCause::tls_handshake_timeout: return "tls_handshake_timeout";
    case ErrorCause::plaintext_server: return "plaintext_server";
    case ErrorCause::tls_server: return "tls_server";
  }
  return "unknown";
}

std::string CacheStats::to_string() const {
  std::string s;
  auto field = [&s](const char* name, std::uint64_t v) { detail::append_field(s, name, v); };
  field("hits", hits);
  field("misses", misses);
  field("sets", sets);
  field("removes", removes);
  field("errors", errors);
  field("evictions", evictions);
  field("expirations", expirations);
  field("items", items);
  field("bytes", bytes);
  if (stale_served + loader_timeouts + background_loads + lock_waits != 0) {
    field("stale_served", stale_served);
    field("loader_timeouts", loader_timeouts);
    field("background_loads", background_loads);
    field("eager_refreshes", eager_refreshes);
    field("lock_waits", lock_waits);
    field("lock_timeouts", lock_timeouts);
  }
  if (errors != 0) {
    field("errors_connection", errors_connection);
    field("errors_timeout", errors_timeout);
    field("errors_protocol", errors_protocol);
    field("errors_reply", errors_reply);
    field("errors_pool_exhausted", errors_pool_exhausted);
    field("errors_tls", errors_tls);
  }
  return s;
}

const char* version() noexcept { return CACHET_VERSION_STRING; }

}  // namespace cachet
