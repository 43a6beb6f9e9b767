// cachet/version.hpp — the library version. The one place it is written: the
// build (CMakeLists.txt) reads CACHET_VERSION_* from here for the shared
// library's version, the CMake package and cachet.pc.
#pragma once

#define CACHET_VERSION_MAJOR 0
#define CACHET_VERSION_MINOR 1
#define CACHET_VERSION_PATCH 0

#include "cachet/export.hpp"

namespace cachet {
/// "MAJOR.MINOR.PATCH" — the version of the compiled library (may differ from
/// the headers' CACHET_VERSION_* if they were mixed up at build time).
CACHET_EXPORT const char* version() noexcept;
}  // namespace cachet
