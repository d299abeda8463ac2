#pragma once

// What the parts of the e2e harness share and the tests do not see.

#include <optional>
#include <string>
#include <sys/types.h>
#include <vector>

#include "tests/e2e/harness.h"

namespace pisock::test::detail {

// Throws std::runtime_error with what and errno's text: a harness that cannot set up a test
// ends that test case, with the reason.
[[noreturn]] void die(const std::string &what);

// Milliseconds left until deadline, for poll(); 0 once it has passed.
int remainingMs(Clock::time_point deadline);

std::string readFile(const std::string &path);

// Waits for pid with a deadline; returns the status (128 + signal if killed) or nullopt on
// timeout.
std::optional<int> waitFor(pid_t pid, Clock::time_point deadline);

// Builds "NAME=value" arrays before fork: after fork only async-signal-safe calls happen. The
// environment of this process without the names in unset, plus extra (an extra NAME=value
// replaces an inherited NAME).
struct Env {
    std::vector<std::string> strings;
    std::vector<char *> pointers;

    explicit Env(const std::vector<std::string> &extra, const std::vector<std::string> &unset);
};

// argv for execve(): pointers into args, which must outlive it, then nullptr.
std::vector<char *> argvOf(std::vector<std::string> &args);

} // namespace pisock::test::detail
