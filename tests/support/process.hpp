// Test harness: running a helper program built with the tests (a second
// cachet process) and waiting for it.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

namespace cachet::test {

/// Starts `program` with `args` (argv[1...]) and this process's environment.
/// -1 when it could not be started.
pid_t spawn_program(const std::string& program, const std::vector<std::string>& args);

/// Waits for `pid`: its exit status, 128 + the signal that ended it, or -1.
int wait_exit(pid_t pid);

}  // namespace cachet::test
