// Test harness: a logger writing into a string stream, installed as cachet's
// logger for the lifetime of the guard (trace level, message text only).
#pragma once

#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "cachet/logging.hpp"

namespace cachet::test {

struct CapturedLog {
  std::ostringstream out;
  CapturedLog() {
    auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(out);
    auto lg = std::make_shared<spdlog::logger>("captured", sink);
    lg->set_level(spdlog::level::trace);
    lg->set_pattern("%v");
    cachet::set_logger(lg);
  }
  ~CapturedLog() { cachet::set_logger(nullptr); }
  CapturedLog(const CapturedLog&) = delete;
  CapturedLog& operator=(const CapturedLog&) = delete;

  std::vector<std::string> lines() const {
    std::vector<std::string> v;
    std::istringstream in(out.str());
    for (std::string line; std::getline(in, line);) v.push_back(line);
    return v;
  }
};

}  // namespace cachet::test
