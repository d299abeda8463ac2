#include "notify.h"

#include <algorithm>

#include <fmt/format.h>

namespace pisock {

Notifier::Notifier(Send send, std::uint64_t watchdogUsec)
    : send_(std::move(send)), watchdogMs_(watchdogUsec / 1000)
{
    if (watchdogUsec > 0 && watchdogMs_ == 0)
        watchdogMs_ = 1; // below a millisecond: ping on every tick
}

void Notifier::ready(std::uint64_t nowMs)
{
    send_("READY=1");
    if (watchdogMs_ > 0) {
        send_("WATCHDOG=1");
        lastPingMs_ = nowMs;
    }
}

void Notifier::reloading(std::uint64_t monotonicUsec)
{
    send_(fmt::format("RELOADING=1\nMONOTONIC_USEC={}", monotonicUsec));
}

void Notifier::stopping()
{
    send_("STOPPING=1");
}

void Notifier::status(std::string text, std::uint64_t nowMs)
{
    wantedStatus_ = std::move(text);
    if (!statusSent_ || nowMs - lastStatusMs_ >= kStatusIntervalMs)
        sendStatus(nowMs);
}

void Notifier::sendStatus(std::uint64_t nowMs)
{
    if (statusSent_ && wantedStatus_ == sentStatus_)
        return;
    send_("STATUS=" + wantedStatus_);
    sentStatus_ = wantedStatus_;
    statusSent_ = true;
    lastStatusMs_ = nowMs;
}

void Notifier::tick(std::uint64_t nowMs)
{
    if (statusSent_ && wantedStatus_ != sentStatus_ && nowMs - lastStatusMs_ >= kStatusIntervalMs)
        sendStatus(nowMs);
    // Half the interval, as sd_watchdog_enabled(3) advises: one late tick is not fatal.
    if (watchdogMs_ > 0 && nowMs - lastPingMs_ >= watchdogMs_ / 2) {
        send_("WATCHDOG=1");
        lastPingMs_ = nowMs;
    }
}

unsigned Notifier::maxTickMs(unsigned wanted) const noexcept
{
    if (watchdogMs_ == 0)
        return wanted;
    const auto quarter = std::max<std::uint64_t>(watchdogMs_ / 4, 1);
    return static_cast<unsigned>(std::min<std::uint64_t>(wanted, quarter));
}

} // namespace pisock
