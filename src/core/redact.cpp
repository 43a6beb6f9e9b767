// Redaction of REDIS_URL secrets; see redact.hpp.
#include "core/redact.hpp"

#include <algorithm>

namespace cachet::detail {

namespace {

struct Span {
  std::size_t begin = std::string_view::npos;  // npos: no such part
  std::size_t end = 0;
};

// The password inside the authority's userinfo ("user:PASS@host"). The last
// '@' of the whole URL ends it, not only one before the first '/', '?' or '#':
// a password holding an unencoded '/', '?', '#' or '@' makes the URL malformed,
// and exactly then the URL is quoted in an error message. Without a ':' the
// whole userinfo may be a password ("redis://s3cret@host"). A URL without a
// scheme ("user:pw@host") is treated as starting with its authority.
Span userinfo_password(std::string_view url) {
  const auto scheme_end = url.find("://");
  const std::size_t auth_begin = scheme_end == std::string_view::npos ? 0 : scheme_end + 3;
  const auto at = url.rfind('@');
  if (at == std::string_view::npos || at < auth_begin) return {};
  const auto colon = url.find(':', auth_begin);
  if (colon == std::string_view::npos || colon > at) return {auth_begin, at};
  return {colon + 1, at};
}

// Every "password=VALUE", "sentinel_password=VALUE" or "ssl_password=VALUE"
// that follows a '?' or '&' anywhere in the URL (any
// letter case), so a misplaced second '?' does not hide one from redaction.
// The value ends at the next '&' or at the end.
std::vector<Span> query_passwords(std::string_view url) {
  std::vector<Span> out;
  constexpr std::string_view kKey = "password=";
  std::string lowered(url);
  std::transform(lowered.begin(), lowered.end(), lowered.begin(),
                 [](unsigned char c) { return static_cast<char>(c >= 'A' && c <= 'Z' ? c + 32 : c); });
  for (std::size_t pos = lowered.find(kKey); pos != std::string::npos; pos = lowered.find(kKey, pos + 1)) {
    // "sentinel_password=" (the sentinels' own password) and "ssl_password="
    // (the client key's passphrase) are secrets too.
    std::size_t key_begin = pos;
    for (std::string_view prefix : {std::string_view("sentinel_"), std::string_view("ssl_")}) {
      if (pos >= prefix.size() && lowered.compare(pos - prefix.size(), prefix.size(), prefix) == 0) {
        key_begin = pos - prefix.size();
      }
    }
    if (key_begin == 0 || (url[key_begin - 1] != '?' && url[key_begin - 1] != '&')) continue;
    const std::size_t value = pos + kKey.size();
    std::size_t end = url.find('&', value);
    if (end == std::string_view::npos) end = url.size();
    out.push_back({value, end});
  }
  return out;
}

std::string percent_decode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size()) {
      const int hi = hex_value(s[i + 1]);
      const int lo = hex_value(s[i + 2]);
      if (hi >= 0 && lo >= 0) {
        out.push_back(static_cast<char>(hi * 16 + lo));
        i += 2;
        continue;
      }
    }
    out.push_back(s[i]);
  }
  return out;
}

}  // namespace

int hex_value(char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string redact_url(std::string_view url) {
  std::vector<Span> spans = query_passwords(url);
  if (auto u = userinfo_password(url); u.begin != std::string_view::npos) spans.push_back(u);
  std::sort(spans.begin(), spans.end(), [](const Span& a, const Span& b) { return a.begin < b.begin; });
  std::string out;
  std::size_t pos = 0;
  for (const auto& s : spans) {
    if (s.begin < pos) continue;
    out.append(url.substr(pos, s.begin - pos));
    out += "***";
    pos = s.end;
  }
  out.append(url.substr(pos));
  return out;
}

std::vector<std::string> url_secrets(std::string_view url) {
  std::vector<Span> spans = query_passwords(url);
  if (auto u = userinfo_password(url); u.begin != std::string_view::npos) spans.push_back(u);
  std::vector<std::string> out;
  for (const auto& s : spans) {
    const std::string_view raw = url.substr(s.begin, s.end - s.begin);
    if (raw.empty()) continue;
    out.emplace_back(raw);
    std::string decoded = percent_decode(raw);
    if (!decoded.empty() && decoded != raw) out.push_back(std::move(decoded));
  }
  // Longest first, so that a secret containing another is replaced whole.
  std::sort(out.begin(), out.end(), [](const std::string& a, const std::string& b) { return a.size() > b.size(); });
  return out;
}

std::string scrub(std::string message, std::string_view url) {
  for (const auto& secret : url_secrets(url)) {
    std::size_t pos = 0;
    while ((pos = message.find(secret, pos)) != std::string::npos) {
      message.replace(pos, secret.size(), "***");
      pos += 3;
    }
  }
  return message;
}

}  // namespace cachet::detail
