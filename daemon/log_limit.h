#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace pisock::log {

// The host part of a peer address, which the limits are kept per: "192.0.2.1" for
// "192.0.2.1:5000", "2001:db8::1" for "[2001:db8::1]:5000", "unix" for every unix socket
// client (they are all on this machine, and none is named by what it binds to). One host
// opening many connections is one peer.
std::string_view peerHost(std::string_view address) noexcept;

// Lets one log line through per period (a second unless told), for a condition that can
// repeat as fast as peers make it (refused clients, out of descriptors, out of memory): the
// line carries a running count, so what it holds back is not lost. Time is passed in, in
// milliseconds, so tests control it.
class Throttle
{
public:
    explicit constexpr Throttle(std::uint64_t periodMs = 1000) noexcept : periodMs_(periodMs) {}

    // True if a line may be written now (and records that one is).
    bool allow(std::uint64_t nowMs) noexcept
    {
        if (lastMs_ && nowMs - *lastMs_ < periodMs_)
            return false;
        lastMs_ = nowMs;
        return true;
    }

private:
    std::uint64_t periodMs_;
    std::optional<std::uint64_t> lastMs_;
};

// Decides which log lines about peers are written, so that no client can flood the log: at
// most perPeer lines per second about one peer host and at most total per second about all
// peers together. Counts what it suppresses and reports it at most once a second. Owns its
// table, which holds at most maxPeers hosts (the rest share one entry). Time is passed in, in
// milliseconds, so tests control it.
class LineLimiter
{
public:
    struct Limits {
        unsigned perPeer = 20; // 0: no limit at all
        unsigned total = 200;
        std::size_t maxPeers = 1024;
    };

    explicit LineLimiter(Limits limits) : limits_(limits) {}

    // True if a line about this peer address may be written now; false counts it suppressed.
    bool allow(std::string_view peer, std::uint64_t nowMs);
    // Lines to write about what was suppressed ("suppressed N messages from HOST"), once a
    // second at most and at most kMaxReports of them (the rest summed up in one more line);
    // forgets hosts that have been quiet for a second.
    std::vector<std::string> report(std::uint64_t nowMs);

    void setLimits(Limits limits) noexcept { limits_ = limits; }
    [[nodiscard]] const Limits &limits() const noexcept { return limits_; }
    [[nodiscard]] std::size_t peers() const noexcept { return peers_.size(); }

    static constexpr std::size_t kMaxReports = 10;
    static constexpr std::uint64_t kWindowMs = 1000;

private:
    struct Window {
        std::uint64_t startMs = 0;
        unsigned lines = 0;
        std::uint64_t suppressed = 0; // since the last report
    };

    static bool admit(Window &window, unsigned limit, std::uint64_t nowMs) noexcept;

    Limits limits_;
    std::unordered_map<std::string, Window> peers_;
    Window others_; // hosts that did not fit in the table
    Window all_;
    std::uint64_t lastReportMs_ = 0;
    bool reported_ = false;
};

} // namespace pisock::log
