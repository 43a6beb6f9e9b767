// A consumer of cachet, built by the packaging tests three ways: against the
// installed CMake package, through add_subdirectory, and with pkg-config.
// It uses only the umbrella header and exits non-zero if the cache misbehaves
// or the library's version is not the headers'.
#include <cachet/cachet.hpp>

#include <chrono>
#include <cstdio>
#include <string>

int main() {
  cachet::SimpleCache cache(cachet::SimpleCacheOptions{});
  cache.set("answer", "42", std::chrono::seconds(30));
  auto v = cache.get_as<int>("answer");
  auto n = cache.increment("hits");
  if (!v || *v != 42 || !n || *n != 1 || cache.get("missing")) {
    std::puts("consumer: unexpected cache behaviour");
    return 1;
  }
  // The build reads the library's version from these macros; the two agree.
  const std::string headers = std::to_string(CACHET_VERSION_MAJOR) + '.' + std::to_string(CACHET_VERSION_MINOR) + '.' +
                              std::to_string(CACHET_VERSION_PATCH);
  if (headers != cachet::version()) {
    std::printf("consumer: headers say cachet %s, the library says %s\n", headers.c_str(), cachet::version());
    return 1;
  }
  std::printf("consumer: cachet %s ok (%s)\n", cachet::version(), std::string(cache.backend()).c_str());
  return 0;
}
