// cachet/logging.hpp — where cachet's log lines go.
//
// cachet logs through one spdlog logger named "cachet". It is created on first
// use, writes warnings and errors to stderr, and is NOT registered in spdlog's
// global registry, nor does cachet touch spdlog's default logger. Call
// set_logger() to route cachet's messages into your own logger (any name, any
// sinks, any level). Backend failures are logged rate-limited; nothing is
// logged on the success path; no log line contains a password.
//
// Thread safety: set_logger() and logger() may be called from any thread at any
// time; an operation in flight may still log to the previous logger.
//
// This is the only public header that mentions spdlog, and only by a forward
// declaration: including it does not require spdlog's headers.
#pragma once

#include <memory>

#include "cachet/export.hpp"

namespace spdlog {
class logger;
}

namespace cachet {

/// Replaces the logger cachet writes to. nullptr restores the built-in one.
CACHET_EXPORT void set_logger(std::shared_ptr<spdlog::logger> logger);

/// The logger cachet currently writes to (never null).
CACHET_EXPORT std::shared_ptr<spdlog::logger> logger();

}  // namespace cachet
