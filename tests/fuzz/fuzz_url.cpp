// libFuzzer target: RedisOptions::from_url.
//
// The first input byte picks a mode; the rest is fuzzed text.
//   raw       the text is the URL.
//   userinfo  "<scheme>://<user>:" SENTINEL "@<text>"  — the password position
//   query     "<text>?<a>&password=" SENTINEL "&<b>"   — the password as a query value
// (in the two password modes the sentinel is sometimes percent-encoded).
// Properties:
//   * from_url returns options or throws ConfigError — nothing else;
//   * no ConfigError message, and neither to_string() nor redacted_url() of the
//     parsed options, contains the sentinel (raw or percent-decoded);
//   * parsed options validate(), and from_url(redacted_url()) parses back to the
//     same options (with the password as "***").
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "cachet/errors.hpp"
#include "cachet/redis_cache.hpp"

namespace {

constexpr std::string_view kSecret = "Zq9Sentinel";           // what the password decodes to
constexpr std::string_view kSecretEncoded = "Zq9%53entinel";  // the same, percent-encoded

[[noreturn]] void fail(const char* what, const std::string& url, const std::string& detail) {
  std::fprintf(stderr, "fuzz_url: %s\n  url: %s\n  detail: %s\n", what, url.c_str(), detail.c_str());
  std::abort();
}

bool leaks(std::string_view text) {
  return text.find(kSecret) != std::string_view::npos || text.find(kSecretEncoded) != std::string_view::npos;
}

// Keeps only characters that cannot end the userinfo part of a URL early.
std::string userinfo_safe(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (c != '/' && c != '?' && c != '#' && c != '@' && c != ':' && c != '[' && c != ']') out += c;
  }
  return out;
}

std::string without(std::string_view s, char drop) {
  std::string out;
  for (char c : s) {
    if (c != drop) out += c;
  }
  return out;
}

void same_or_die(const cachet::RedisOptions& a, const cachet::RedisOptions& b, const std::string& url) {
  const std::string expected_password = a.password.empty() ? "" : "***";
  const bool same = a.host == b.host && a.port == b.port && a.unix_socket == b.unix_socket && a.db == b.db &&
                    a.username == b.username && b.password == expected_password &&
                    a.connect_timeout == b.connect_timeout && a.socket_timeout == b.socket_timeout &&
                    a.pool_size == b.pool_size && a.pool_wait_timeout == b.pool_wait_timeout &&
                    a.key_prefix == b.key_prefix && a.tls.enabled == b.tls.enabled &&
                    a.tls.to_string() == b.tls.to_string();
  if (!same) fail("from_url(redacted_url()) differs", url, a.to_string() + " vs " + b.to_string());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const unsigned mode = data[0] % 3;
  const bool encoded = (data[0] / 3) % 2 == 1;
  const std::string_view text(reinterpret_cast<const char*>(data + 1), size - 1);
  const bool has_secret = mode != 0;
  const std::string_view secret = encoded ? kSecretEncoded : kSecret;

  std::string url;
  if (mode == 0) {
    url = std::string(text);
  } else if (mode == 1) {
    // <scheme selector><user>\x01<rest>
    static constexpr std::string_view kSchemes[] = {"redis", "REDIS", "rediss", "Redis"};
    const std::string_view body = text.empty() ? text : text.substr(1);
    const auto split = body.find('\x01');
    const std::string_view user = body.substr(0, split);
    const std::string_view rest = split == std::string_view::npos ? std::string_view() : body.substr(split + 1);
    url = std::string(kSchemes[text.empty() ? 0 : static_cast<unsigned char>(text[0]) % 4]) + "://" +
          userinfo_safe(user) + ":" + std::string(secret) + "@" + std::string(rest);
  } else {
    // <base>\x01<a>\x01<b>
    const auto s1 = text.find('\x01');
    const std::string_view base = text.substr(0, s1);
    std::string_view a, b;
    if (s1 != std::string_view::npos) {
      const std::string_view tail = text.substr(s1 + 1);
      const auto s2 = tail.find('\x01');
      a = tail.substr(0, s2);
      if (s2 != std::string_view::npos) b = tail.substr(s2 + 1);
    }
    url = without(base, '#') + "?" + std::string(a) + "&password=" + std::string(secret) + "&" + std::string(b);
  }

  // The fuzzed parts must not spell the sentinel themselves (also not after
  // userinfo_safe() dropped characters): then it is data, not the password.
  if (has_secret) {
    std::size_t n = 0;
    for (const std::string_view s : {kSecret, kSecretEncoded}) {
      for (auto p = url.find(s); p != std::string::npos; p = url.find(s, p + 1)) ++n;
    }
    if (n != 1) return 0;
  }

  cachet::RedisOptions o;
  try {
    o = cachet::RedisOptions::from_url(url);
  } catch (const cachet::ConfigError& e) {
    if (has_secret && leaks(e.what())) fail("password in a ConfigError message", url, e.what());
    return 0;
  } catch (const std::exception& e) {
    fail("from_url threw something other than ConfigError", url, e.what());
  } catch (...) {
    fail("from_url threw a non-std exception", url, "");
  }

  const std::string printed = o.to_string();
  const std::string redacted = o.redacted_url();
  if (has_secret && leaks(printed)) fail("password in to_string()", url, printed);
  if (has_secret && leaks(redacted)) fail("password in redacted_url()", url, redacted);
  try {
    o.validate();
  } catch (const std::exception& e) {
    fail("from_url returned options that do not validate", url, e.what());
  }
  // Accepted hosts hold no '[' / ']' and socket paths no control byte (both
  // rejected by from_url), so every accepted URL must round-trip.
  if (o.unix_socket.empty() && o.host.find_first_of("[]") != std::string::npos) fail("host with a bracket", url, o.host);
  for (char c : o.unix_socket) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) fail("unix_socket with a control byte", url, o.unix_socket);
  }
  try {
    same_or_die(o, cachet::RedisOptions::from_url(redacted), url);
  } catch (const std::exception& e) {
    fail("redacted_url() does not parse", url, redacted + ": " + e.what());
  }
  return 0;
}
