# Install rules: headers, the library, the CMake package (cachetConfig.cmake,
# cachetConfigVersion.cmake, cachetTargets.cmake, cachetFindHiredis.cmake) and cachet.pc.
include(CMakePackageConfigHelpers)

set(CACHET_CMAKE_DIR "${CMAKE_INSTALL_LIBDIR}/cmake/cachet")

install(TARGETS cachet EXPORT cachetTargets
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
  RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR}
  INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(DIRECTORY "${PROJECT_SOURCE_DIR}/include/cachet" DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})

install(EXPORT cachetTargets NAMESPACE cachet:: DESTINATION ${CACHET_CMAKE_DIR})
configure_package_config_file("${PROJECT_SOURCE_DIR}/cmake/cachetConfig.cmake.in"
  "${PROJECT_BINARY_DIR}/cachetConfig.cmake" INSTALL_DESTINATION ${CACHET_CMAKE_DIR})
write_basic_package_version_file("${PROJECT_BINARY_DIR}/cachetConfigVersion.cmake"
  VERSION ${PROJECT_VERSION} COMPATIBILITY SameMinorVersion)
install(FILES
  "${PROJECT_BINARY_DIR}/cachetConfig.cmake"
  "${PROJECT_BINARY_DIR}/cachetConfigVersion.cmake"
  "${PROJECT_SOURCE_DIR}/cmake/cachetFindHiredis.cmake"
  DESTINATION ${CACHET_CMAKE_DIR})

# pkg-config: a static cachet puts its dependencies on the plain link line
# (`pkg-config --libs cachet` must be enough); a shared one keeps them private.
if(BUILD_SHARED_LIBS)
  set(CACHET_PC_REQUIRES "")
  set(CACHET_PC_REQUIRES_PRIVATE "fmt spdlog libssl libcrypto")
  set(CACHET_PC_LIBS "-lcachet")
  set(CACHET_PC_LIBS_PRIVATE "-lhiredis -pthread")
else()
  set(CACHET_PC_REQUIRES "fmt spdlog libssl libcrypto")
  set(CACHET_PC_REQUIRES_PRIVATE "")
  set(CACHET_PC_LIBS "-lcachet -lhiredis -pthread")
  set(CACHET_PC_LIBS_PRIVATE "")
endif()
# The .pc file is relocatable: its prefix is found from its own location
# (${pcfiledir}), so `cmake --install --prefix <anywhere>` works, not only the
# configure-time CMAKE_INSTALL_PREFIX. Absolute LIBDIR/INCLUDEDIR are kept as given.
if(IS_ABSOLUTE "${CMAKE_INSTALL_LIBDIR}" OR IS_ABSOLUTE "${CMAKE_INSTALL_INCLUDEDIR}")
  set(CACHET_PC_PREFIX "${CMAKE_INSTALL_PREFIX}")
else()
  file(RELATIVE_PATH _cachet_pc_up "/root/${CMAKE_INSTALL_LIBDIR}/pkgconfig" "/root")
  string(REGEX REPLACE "/$" "" _cachet_pc_up "${_cachet_pc_up}")
  set(CACHET_PC_PREFIX "\${pcfiledir}/${_cachet_pc_up}")
endif()
if(IS_ABSOLUTE "${CMAKE_INSTALL_LIBDIR}")
  set(CACHET_PC_LIBDIR "${CMAKE_INSTALL_LIBDIR}")
else()
  set(CACHET_PC_LIBDIR "\${prefix}/${CMAKE_INSTALL_LIBDIR}")
endif()
if(IS_ABSOLUTE "${CMAKE_INSTALL_INCLUDEDIR}")
  set(CACHET_PC_INCLUDEDIR "${CMAKE_INSTALL_INCLUDEDIR}")
else()
  set(CACHET_PC_INCLUDEDIR "\${prefix}/${CMAKE_INSTALL_INCLUDEDIR}")
endif()
configure_file("${PROJECT_SOURCE_DIR}/cmake/cachet.pc.in" "${PROJECT_BINARY_DIR}/cachet.pc" @ONLY)
install(FILES "${PROJECT_BINARY_DIR}/cachet.pc" DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
