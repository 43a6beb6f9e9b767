// Internal: a reusable buffer of RESP-encoded commands.
//
// Commands are encoded directly in the wire format (arrays of bulk strings), so
// a prefixed key is written as one argument without first concatenating it in
// a temporary string, and values are copied once. Each pooled connection owns
// one Request and reuses its capacity, so the success path of a cache operation
// allocates nothing here. Pure formatting: nothing here touches a socket.
#pragma once

#include <charconv>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace cachet::redis {

class Request {
 public:
  /// Forgets the previous commands; releases memory after a very large one.
  void clear() noexcept {
    if (buf_.capacity() > kKeepCapacity) {
      std::string().swap(buf_);
    } else {
      buf_.clear();
    }
    commands_ = 0;
  }

  /// Starts a command of `argc` arguments (the command name counts).
  Request& begin(std::size_t argc) {
    buf_ += '*';
    append_number(static_cast<std::uint64_t>(argc));
    buf_.append("\r\n", 2);
    ++commands_;
    return *this;
  }

  /// One argument: arbitrary bytes.
  Request& arg(std::string_view a) {
    header(a.size());
    buf_.append(a.data(), a.size());
    buf_.append("\r\n", 2);
    return *this;
  }

  /// One argument made of `a` followed by `b` (a prefixed key).
  Request& arg(std::string_view a, std::string_view b) {
    header(a.size() + b.size());
    buf_.append(a.data(), a.size());
    buf_.append(b.data(), b.size());
    buf_.append("\r\n", 2);
    return *this;
  }

  /// One argument: an integer in decimal.
  Request& arg_int(std::int64_t v) {
    char tmp[24];
    const auto r = std::to_chars(tmp, tmp + sizeof tmp, v);
    return arg(std::string_view(tmp, static_cast<std::size_t>(r.ptr - tmp)));
  }

  /// Reserves room for `bytes` more bytes (large values: one allocation).
  void reserve_more(std::size_t bytes) { buf_.reserve(buf_.size() + bytes); }

  std::string_view data() const noexcept { return buf_; }
  /// Number of commands begun since clear(): the number of replies to read.
  std::size_t commands() const noexcept { return commands_; }

 private:
  static constexpr std::size_t kKeepCapacity = std::size_t{1} << 20;

  void header(std::size_t len) {
    buf_ += '$';
    append_number(static_cast<std::uint64_t>(len));
    buf_.append("\r\n", 2);
  }
  void append_number(std::uint64_t v) {
    char tmp[24];
    const auto r = std::to_chars(tmp, tmp + sizeof tmp, v);
    buf_.append(tmp, static_cast<std::size_t>(r.ptr - tmp));
  }

  std::string buf_;
  std::size_t commands_ = 0;
};

}  // namespace cachet::redis
