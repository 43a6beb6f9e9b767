// `cachet` — the operator's view of a cache configuration.
//
//   cachet probe     print the effective configuration (secrets redacted), build
//                    the cache exactly as a service would (probing Redis), and
//                    say which backend was picked, why, and how long it took.
//                    For CACHE_TYPE=hybrid it also shows the L1 coherence mode
//                    and checks it end to end (an outside write must arrive as
//                    an invalidation), with the time it took.
//                    Exit 0: the requested backend is usable; 1: it is not (fell
//                    back, or CACHE_FALLBACK=none and Redis is down); 2: the
//                    configuration is invalid (or bad usage).
//   cachet config    print the effective configuration only (exit 0 or 2).
//   cachet --help    usage, and every configuration key (from cachet::config_keys()).
//
// Everything goes through the public API, so what it reports is what
// cachet::create_cache() does in the service.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <iomanip>
#include <iostream>
#include <optional>
#include <sstream>
#include <string>

#include "cachet/cachet.hpp"

namespace {

constexpr int kUsable = 0;
constexpr int kNotUsable = 1;
constexpr int kBadConfig = 2;

void print_help(std::ostream& out) {
  out << "Usage: cachet <command>\n"
         "\n"
         "Checks the cache configuration of this environment the way a service using\n"
         "cachet::create_cache() would see it. Run it first in every new environment.\n"
         "\n"
         "Commands:\n"
         "  probe       print the effective configuration (passwords redacted), build the\n"
         "              configured cache (for Redis: connect, SET/GET/DEL a test key under\n"
         "              the prefix) and report the backend picked, why, and the probe time;\n"
         "              for CACHE_TYPE=hybrid also the coherence mode, checked end to end\n"
         "  config      print the effective configuration only; does not connect\n"
         "  --help      this text\n"
         "  --version   the library version\n"
         "\n"
         "Exit status (probe):\n"
         "  0  the requested backend is usable\n"
         "  1  it is not: the factory fell back to the in-memory cache, or\n"
         "     CACHE_FALLBACK=none and Redis cannot be used\n"
         "  2  the configuration is invalid (or the command line is)\n"
         "\n"
         "Configuration is read from the environment (see docs/configuration.md and\n"
         "docs/deployment.md); unset keys take the default shown:\n";
  std::size_t width = 0;
  for (const auto& key : cachet::config_keys()) width = std::max(width, key.name.size());
  for (const auto& key : cachet::config_keys()) {
    out << "  " << key.name << std::string(width - key.name.size() + 2, ' ') << key.help << '\n'
        << "  " << std::string(width + 2, ' ') << "default: " << key.default_value << '\n';
  }
  out << "What each key accepts: docs/configuration.md, and the message of any invalid value.\n"
         "\n"
         "Example:\n"
         "  CACHE_TYPE=redis REDIS_URL=redis://127.0.0.1:6379/0 cachet probe\n";
}

void print_config(const cachet::CacheConfig& config) {
  std::cout << "Configuration (from the environment, passwords redacted):\n";
  std::string text = config.to_string();
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::size_t end = text.find('\n', pos);
    if (end == std::string::npos) end = text.size();
    std::cout << "  " << text.substr(pos, end - pos) << '\n';
    pos = end + 1;
  }
}

// A certificate's end of validity as the probe prints it: "2026-12-10 14:03:00 UTC".
std::string utc(std::chrono::system_clock::time_point t) {
  const std::time_t seconds = std::chrono::system_clock::to_time_t(t);
  std::tm parts{};
  std::ostringstream out;
  if (gmtime_r(&seconds, &parts) != nullptr) out << std::put_time(&parts, "%Y-%m-%d %H:%M:%S UTC");
  return out.str();
}

void print_report(const cachet::FactoryReport& r) {
  std::cout << "\nResult:\n"
            << "  requested:  " << r.requested << '\n'
            << "  backend:    " << (r.backend.empty() ? std::string("(none)") : r.backend) << '\n'
            << "  fell back:  " << (r.fell_back ? "yes" : "no") << '\n'
            << "  fallback:   " << cachet::to_string(r.fallback) << '\n';
  if (!r.target.empty()) std::cout << "  target:     " << r.target << '\n';
  std::cout << "  reason:     " << (r.reason.empty() ? std::string("-") : r.reason) << '\n'
            << "  probe time: " << r.probe_time.count() << " ms"
            << (r.requested == "redis" || r.requested == "hybrid" ? "" : " (no probe for this type)") << '\n';
  if (r.tls) {
    std::cout << "  TLS:        " << r.tls->version << ", cipher " << r.tls->cipher << '\n'
              << "  server certificate:\n"
              << "    subject:  " << (r.tls->peer_subject.empty() ? std::string("(none)") : r.tls->peer_subject) << '\n'
              << "    issuer:   " << (r.tls->peer_issuer.empty() ? std::string("-") : r.tls->peer_issuer) << '\n'
              << "    expires:  " << utc(r.tls->peer_not_after) << '\n';
  }
  for (const auto& w : r.warnings) std::cout << "  WARNING:    " << w << '\n';
  if (!r.coherence.empty()) std::cout << "  coherence:  " << r.coherence << '\n';
}

// CACHE_TYPE=hybrid: register, write the test key from a second connection,
// wait for its invalidation. False when it did not arrive.
bool check_hybrid(cachet::Cache& cache) {
  auto* hybrid = dynamic_cast<cachet::HybridCache*>(&cache);
  if (hybrid == nullptr) return true;
  const auto check = hybrid->check_coherence(std::chrono::seconds(2));
  std::cout << "  invalidation: " << (check.ok ? "ok" : "FAILED") << " (mode " << cachet::to_string(check.mode)
            << "): " << check.detail;
  if (check.ok) std::cout << ", in " << check.latency.count() << " us";
  std::cout << '\n';
  return check.ok || check.mode == cachet::InvalidationMode::none;
}

int run_config() {
  try {
    print_config(cachet::CacheConfig::from_env());
    return kUsable;
  } catch (const cachet::ConfigError& e) {
    std::cerr << "cachet: configuration error: " << e.what() << '\n';
    return kBadConfig;
  }
}

int run_probe() {
  cachet::CacheConfig config;
  try {
    config = cachet::CacheConfig::from_env();
  } catch (const cachet::ConfigError& e) {
    std::cerr << "cachet: configuration error: " << e.what() << '\n';
    return kBadConfig;
  }
  print_config(config);
  std::cout.flush();

  std::optional<cachet::CacheFactory> factory;
  try {
    factory.emplace(config);
    auto cache = factory->create();
    const auto& r = factory->report();
    print_report(r);
    const bool coherent = r.fell_back || check_hybrid(*cache);
    if (r.fell_back && r.fallback == cachet::FallbackMode::runtime) {
      std::cout << "\nFELL BACK: " << r.requested << " was requested but is not usable; a service would start on "
                   "the in-memory cache (not shared between processes) and move to Redis by itself once it "
                   "answers (CACHE_FALLBACK=runtime).\n";
      return kNotUsable;
    }
    if (r.fell_back) {
      std::cout << "\nFELL BACK: " << r.requested << " was requested but is not usable; a service would run on the "
                << r.backend << " cache (not shared between processes) until it is restarted.\n";
      return kNotUsable;
    }
    if (!coherent) {
      std::cout << "\nNOT COHERENT: the hybrid cache's invalidation did not arrive; its L1 is bypassed until it "
                   "does (reads go to Redis).\n";
      return kNotUsable;
    }
    if (r.backend == "fallback") {
      std::cout << "\nOK: the redis backend is usable (behind the runtime fail-safe wrapper, CACHE_FALLBACK=runtime).\n";
      return kUsable;
    }
    std::cout << "\nOK: the " << r.backend << " backend is usable.\n";
    return kUsable;
  } catch (const cachet::ConfigError& e) {
    std::cerr << "cachet: configuration error: " << e.what() << '\n';
    return kBadConfig;
  } catch (const cachet::BackendError& e) {
    if (factory) print_report(factory->report());
    std::cout << "\nNOT USABLE: " << e.what() << "\n(a service using create_cache() would fail to start)\n";
    return kNotUsable;
  }
}

}  // namespace

int main(int argc, char** argv) try {
  if (argc < 2) {
    print_help(std::cerr);
    return kBadConfig;
  }
  const std::string command = argv[1];
  auto is_help = [](const std::string& arg) { return arg == "--help" || arg == "-h" || arg == "help"; };
  if (is_help(command) || (argc == 3 && is_help(argv[2]) && command != "--version")) {
    print_help(std::cout);
    return kUsable;
  }
  if (command == "--version") {
    std::cout << "cachet " << cachet::version() << '\n';
    return kUsable;
  }
  if (argc > 2) {
    std::cerr << "cachet: '" << command << "' takes no arguments (got '" << argv[2] << "'); see cachet --help\n";
    return kBadConfig;
  }
  if (command == "probe") return run_probe();
  if (command == "config") return run_config();
  std::cerr << "cachet: unknown command '" << command << "'; accepted: probe, config, --help, --version\n";
  return kBadConfig;
} catch (const std::exception& e) {  // anything the commands do not handle themselves
  std::cerr << "cachet: " << e.what() << '\n';
  return kNotUsable;
}
