#pragma once

// What every fuzz target does when an invariant breaks: say which, then trap, so that
// libFuzzer saves the input that got there.

#include <cstdio>

namespace pisock::fuzz {

[[noreturn]] inline void fail(const char *what)
{
    std::fprintf(stderr, "invariant broken: %s\n", what);
    __builtin_trap();
}

inline void check(bool ok, const char *what)
{
    if (!ok)
        fail(what);
}

} // namespace pisock::fuzz
