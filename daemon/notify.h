#pragma once

#include <cstdint>
#include <functional>
#include <string>

namespace pisock {

// Decides what pisockd tells its service manager and when (sd_notify(3)): READY=1, STATUS=
// only when it changed and at most once per interval, WATCHDOG=1 at half the watchdog
// interval, RELOADING=1 with its timestamp, STOPPING=1. Owns no socket: every message goes to
// the Send function (sd_notify in the daemon, a list in the tests), so the rules are testable
// without systemd.
class Notifier
{
public:
    using Send = std::function<void(const std::string &)>;
    static constexpr std::uint64_t kStatusIntervalMs = 1000;

    // watchdogUsec: WATCHDOG_USEC as sd_watchdog_enabled() reports it; 0 for no watchdog.
    Notifier(Send send, std::uint64_t watchdogUsec);

    // READY=1 (at startup and after a reload), and a first watchdog ping.
    void ready(std::uint64_t nowMs);
    // RELOADING=1 with MONOTONIC_USEC (CLOCK_MONOTONIC in microseconds), which systemd 253
    // and later want with it; older versions ignore the field.
    void reloading(std::uint64_t monotonicUsec);
    void stopping();
    // The current status line. Sent now if it changed and the last one went out at least
    // kStatusIntervalMs ago; otherwise tick() sends the latest text once the interval is over.
    void status(std::string text, std::uint64_t nowMs);
    // Called by the loop's ticker: sends a held-back status and the watchdog ping when due.
    void tick(std::uint64_t nowMs);

    // Longest ticker period that still pings the watchdog in time (a quarter of its interval).
    [[nodiscard]] unsigned maxTickMs(unsigned wanted) const noexcept;
    [[nodiscard]] bool watchdog() const noexcept { return watchdogMs_ > 0; }

private:
    void sendStatus(std::uint64_t nowMs);

    Send send_;
    std::uint64_t watchdogMs_; // the manager's interval; pings go at half of it
    std::uint64_t lastPingMs_ = 0;
    std::uint64_t lastStatusMs_ = 0;
    bool statusSent_ = false;
    std::string sentStatus_;
    std::string wantedStatus_;
};

} // namespace pisock
