#!/usr/bin/env bash
# Packaging tests, run by ctest. Usage:
#   run.sh install      BUILD_DIR WORK_DIR   install the build into WORK_DIR/prefix
#   run.sh find-package SOURCE_DIR WORK_DIR  consumer via find_package(cachet CONFIG)
#   run.sh subdirectory SOURCE_DIR WORK_DIR  consumer via add_subdirectory(cachet)
#   run.sh pkg-config   SOURCE_DIR WORK_DIR  consumer via pkg-config --cflags --libs cachet
# CXX and CMAKE_GENERATOR are taken from the environment ctest passes in.
set -euo pipefail
mode=$1 dir=$2 work=$3
prefix="$work/prefix"
gen=()
[ -n "${CACHET_PKG_GENERATOR:-}" ] && gen=(-G "$CACHET_PKG_GENERATOR")
cxx=("-DCMAKE_CXX_COMPILER=${CACHET_PKG_CXX:-c++}")

case "$mode" in
  install)
    rm -rf "$prefix"
    cmake --install "$dir" --prefix "$prefix" >/dev/null
    test -f "$prefix/include/cachet/cachet.hpp"
    test -f "$(ls "$prefix"/lib*/cmake/cachet/cachetConfig.cmake "$prefix"/lib/*/cmake/cachet/cachetConfig.cmake 2>/dev/null | head -1)"
    echo "installed into $prefix"
    ;;
  find-package)
    rm -rf "$work/find-package"
    cmake -S "$dir/tests/package/consumer" -B "$work/find-package" "${gen[@]}" "${cxx[@]}" \
      -DCMAKE_PREFIX_PATH="$prefix" >/dev/null
    cmake --build "$work/find-package" >/dev/null
    "$work/find-package/consumer"
    ;;
  subdirectory)
    rm -rf "$work/subdirectory"
    cmake -S "$dir/tests/package/consumer" -B "$work/subdirectory" "${gen[@]}" "${cxx[@]}" \
      -DCACHET_SOURCE_DIR="$dir" >/dev/null
    cmake --build "$work/subdirectory" --target consumer >/dev/null
    "$work/subdirectory/consumer"
    ;;
  pkg-config)
    pcdir=$(dirname "$(ls "$prefix"/lib*/pkgconfig/cachet.pc "$prefix"/lib/*/pkgconfig/cachet.pc 2>/dev/null | head -1)")
    flags=$(PKG_CONFIG_PATH="$pcdir" pkg-config --cflags --libs cachet)
    echo "pkg-config --cflags --libs cachet: $flags"
    # shellcheck disable=SC2086
    ${CACHET_PKG_CXX:-c++} -std=c++17 -o "$work/pkg-consumer" "$dir/tests/package/consumer/main.cpp" $flags
    LD_LIBRARY_PATH="$(dirname "$pcdir")${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" "$work/pkg-consumer"
    ;;
  *) echo "run.sh: unknown mode '$mode' (accepted: install find-package subdirectory pkg-config)" >&2; exit 2 ;;
esac
