#pragma once

#include <cstdint>
#include <time.h>

namespace pisock {

// The one monotonic clock of the program (CLOCK_MONOTONIC, which the timerfd ticks on and
// systemd's MONOTONIC_USEC names). The event loop reads it once a turn and everything in the
// loop uses EventLoop::now(); only what runs without a loop (the log's limiter, the reload
// notice) reads it here.
inline std::uint64_t monotonicUsec() noexcept
{
    timespec ts{};
    ::clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<std::uint64_t>(ts.tv_sec) * 1000000 +
           static_cast<std::uint64_t>(ts.tv_nsec / 1000);
}

inline std::uint64_t monotonicMs() noexcept
{
    return monotonicUsec() / 1000;
}

} // namespace pisock
