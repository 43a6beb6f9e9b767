# Provides the imported target hiredis::hiredis, trying in order:
#   1. a hiredis CMake package that defines hiredis::hiredis (hiredis >= 1.0);
#   2. pkg-config's hiredis.pc;
#   3. find_path / find_library.
# Debian 12's HiredisConfig.cmake (hiredis 0.14) only sets variables, so it is
# not used. This file is installed with cachet and used by cachetConfig.cmake.
if(TARGET hiredis::hiredis)
  return()
endif()

find_package(hiredis CONFIG QUIET)
if(TARGET hiredis::hiredis)
  return()
endif()

find_package(PkgConfig QUIET)
if(PKG_CONFIG_FOUND)
  pkg_check_modules(CACHET_HIREDIS QUIET IMPORTED_TARGET hiredis)
  if(CACHET_HIREDIS_FOUND)
    add_library(hiredis::hiredis INTERFACE IMPORTED)
    target_link_libraries(hiredis::hiredis INTERFACE PkgConfig::CACHET_HIREDIS)
    return()
  endif()
endif()

find_path(CACHET_HIREDIS_INCLUDE_DIR NAMES hiredis/hiredis.h)
find_library(CACHET_HIREDIS_LIBRARY NAMES hiredis)
if(CACHET_HIREDIS_INCLUDE_DIR AND CACHET_HIREDIS_LIBRARY)
  add_library(hiredis::hiredis UNKNOWN IMPORTED)
  set_target_properties(hiredis::hiredis PROPERTIES
    IMPORTED_LOCATION "${CACHET_HIREDIS_LIBRARY}"
    INTERFACE_INCLUDE_DIRECTORIES "${CACHET_HIREDIS_INCLUDE_DIR}")
  return()
endif()

message(FATAL_ERROR "cachet: hiredis not found (tried a hiredis CMake package, pkg-config and the default paths). "
                    "On Debian/Ubuntu: apt-get install libhiredis-dev")
