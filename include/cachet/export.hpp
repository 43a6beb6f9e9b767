// cachet/export.hpp — symbol visibility for the cachet library.
//
// cachet is compiled with hidden visibility; every public class and function is
// marked CACHET_EXPORT so that it (and, for exception classes, its type info) is
// visible across a shared-library boundary. Header-only templates need no mark.
#pragma once

#if defined(_WIN32)
#  define CACHET_EXPORT
#else
#  define CACHET_EXPORT __attribute__((visibility("default")))
#endif
