#include "log_limit.h"

#include <utility>

#include <fmt/format.h>

namespace pisock::log {

namespace {

std::string messages(std::uint64_t n)
{
    return fmt::format("{} message{}", n, n == 1 ? "" : "s");
}

} // namespace

std::string_view peerHost(std::string_view address) noexcept
{
    if (address.starts_with('[')) {
        const auto close = address.find(']');
        return close == std::string_view::npos ? address : address.substr(1, close - 1);
    }
    if (address.starts_with("unix"))
        return "unix";
    const auto colon = address.rfind(':');
    return colon == std::string_view::npos ? address : address.substr(0, colon);
}

bool LineLimiter::admit(Window &window, unsigned limit, std::uint64_t nowMs) noexcept
{
    if (window.lines == 0 || nowMs - window.startMs >= kWindowMs) {
        window.startMs = nowMs;
        window.lines = 0;
    }
    if (window.lines >= limit)
        return false;
    ++window.lines;
    return true;
}

bool LineLimiter::allow(std::string_view peer, std::uint64_t nowMs)
{
    if (limits_.perPeer == 0)
        return true;
    const std::string host(peerHost(peer));
    auto it = peers_.find(host);
    if (it == peers_.end() && peers_.size() < limits_.maxPeers)
        it = peers_.emplace(host, Window{}).first;
    Window &mine = it == peers_.end() ? others_ : it->second;
    // The host's own budget first: a flooding host must not use up everyone else's.
    if (!admit(mine, limits_.perPeer, nowMs)) {
        ++mine.suppressed;
        return false;
    }
    if (!admit(all_, limits_.total, nowMs)) {
        --mine.lines;
        ++mine.suppressed;
        return false;
    }
    return true;
}

std::vector<std::string> LineLimiter::report(std::uint64_t nowMs)
{
    std::vector<std::string> lines;
    if (reported_ && nowMs - lastReportMs_ < kWindowMs)
        return lines;
    reported_ = true;
    lastReportMs_ = nowMs;
    std::uint64_t restLines = 0;
    std::size_t restHosts = 0;
    for (auto it = peers_.begin(); it != peers_.end();) {
        Window &w = it->second;
        if (w.suppressed > 0) {
            if (lines.size() < kMaxReports) {
                lines.push_back(
                        fmt::format("suppressed {} from {}", messages(w.suppressed), it->first));
            } else {
                restLines += w.suppressed;
                ++restHosts;
            }
            w.suppressed = 0;
        } else if (nowMs - w.startMs >= kWindowMs) {
            it = peers_.erase(it); // quiet for a second: its window is over anyway
            continue;
        }
        ++it;
    }
    // Hosts that did not fit in the table were not told apart: no count of them.
    const bool overflow = others_.suppressed > 0;
    restLines += std::exchange(others_.suppressed, 0);
    if (restLines > 0)
        lines.push_back(fmt::format("suppressed {} from {}", messages(restLines),
                                    overflow ? std::string("other peers")
                                             : fmt::format("{} other peers", restHosts)));
    return lines;
}

} // namespace pisock::log
