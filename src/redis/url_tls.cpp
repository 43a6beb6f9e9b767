// The ssl_* query keys of rediss:// URLs (redis-py's spelling), read into
// TlsOptions and printed back. Values follow the shared grammar
// (core/parse.hpp); files are checked by TlsOptions::validate().
#include <string>

#include "core/parse.hpp"
#include "redis/url.hpp"

namespace cachet::redis {

namespace {

constexpr const char* kCertReqs = "required, optional or none";
constexpr const char* kVersions = "1.2 or 1.3 (TLSv1.2 and TLSv1.3 are accepted too)";

std::optional<TlsOptions::Version> min_version(std::string_view text) {
  const std::string v = parse::lower(text);
  if (v == "1.2" || v == "tlsv1.2") return TlsOptions::Version::tls1_2;
  if (v == "1.3" || v == "tlsv1.3") return TlsOptions::Version::tls1_3;
  return std::nullopt;
}

}  // namespace

std::optional<TlsOptions::CertReqs> parse_cert_reqs(std::string_view text) {
  const std::string v = parse::lower(text);
  if (v == "required") return TlsOptions::CertReqs::required;
  if (v == "optional") return TlsOptions::CertReqs::optional;
  if (v == "none") return TlsOptions::CertReqs::none;
  return std::nullopt;
}

const char* describe_cert_reqs() noexcept { return kCertReqs; }

bool apply_tls_query(TlsOptions& tls, const std::string& key, const std::string& value, const UrlFail& fail) {
  if (key.compare(0, 4, "ssl_") != 0) return false;
  auto bad = [&](const char* accepted) { return fail(key + "='" + value + "' is not valid; accepted: " + accepted); };
  if (key == "ssl_cert_reqs") {
    const auto reqs = parse_cert_reqs(value);
    if (!reqs) throw bad(kCertReqs);
    tls.cert_reqs = *reqs;
  } else if (key == "ssl_check_hostname") {
    const auto b = parse::boolean(value);
    if (!b) throw bad(parse::describe_boolean().c_str());
    tls.check_hostname = *b;
  } else if (key == "ssl_min_version") {
    const auto v = min_version(value);
    if (!v) throw bad(kVersions);
    tls.min_version = *v;
  } else if (key == "ssl_ca_certs") {
    tls.ca_certs = value;
  } else if (key == "ssl_ca_path") {
    tls.ca_path = value;
  } else if (key == "ssl_certfile") {
    tls.certfile = value;
  } else if (key == "ssl_keyfile") {
    tls.keyfile = value;
  } else if (key == "ssl_password") {
    tls.key_password = value;  // never quoted by `bad`: no check can fail on it
  } else if (key == "ssl_server_name") {
    tls.server_name = value;
  } else {
    throw fail("unknown query parameter '" + key + "'; accepted ssl_* keys: " + std::string(kTlsQueryKeys));
  }
  return true;
}

std::vector<std::pair<std::string, std::optional<std::string>>> tls_query(const TlsOptions& tls) {
  std::vector<std::pair<std::string, std::optional<std::string>>> out;
  const TlsOptions defaults;
  if (tls.cert_reqs != defaults.cert_reqs) out.emplace_back("ssl_cert_reqs", cachet::to_string(tls.cert_reqs));
  auto text = [&out](const char* key, const std::string& value) {
    if (!value.empty()) out.emplace_back(key, value);
  };
  text("ssl_ca_certs", tls.ca_certs);
  text("ssl_ca_path", tls.ca_path);
  text("ssl_certfile", tls.certfile);
  text("ssl_keyfile", tls.keyfile);
  if (!tls.key_password.empty()) out.emplace_back("ssl_password", std::nullopt);
  if (tls.check_hostname != defaults.check_hostname) out.emplace_back("ssl_check_hostname", "false");
  text("ssl_server_name", tls.server_name);
  if (tls.min_version != defaults.min_version) out.emplace_back("ssl_min_version", cachet::to_string(tls.min_version));
  return out;
}

}  // namespace cachet::redis
