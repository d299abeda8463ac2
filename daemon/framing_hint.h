#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>

#include "log_limit.h"

namespace pisock {

// Line framing's hint for clients that never end a line. The tutorial's Python client sends
// "hello" without a newline and waits for the answer; in line framing that is half a message,
// so it waits forever. A connection whose first message is still unterminated about a second
// after its first bytes is worth one log line naming --framing raw.
//
// Owns a small ring of candidates (connection number, when seen); borrows nothing. A service
// adds its connection once at most, while no message of it has ended; the server's ticker asks
// which candidates are due and looks at them. Nothing is done per message, nothing allocates,
// and a full ring drops new candidates: it is only a hint.
class FramingHint
{
public:
    static constexpr std::size_t kCapacity = 64;
    // A candidate is due this long after the first tick that saw it, so between one second
    // and one second and two ticks after its bytes.
    static constexpr std::uint64_t kDueMs = 1000;
    // At most one hint in this long: the log should point the way, not repeat it.
    static constexpr std::uint64_t kQuietMs = 60 * 1000;

    // The connection id sent bytes and no message of it has ended yet.
    void waiting(std::uint64_t id) noexcept;
    // The server's ticker, the time now (monotonic ms): stamps the candidates added since.
    void tick(std::uint64_t nowMs) noexcept;
    // The next candidate due at nowMs, taken off the ring; nothing when none is.
    std::optional<std::uint64_t> due(std::uint64_t nowMs) noexcept;
    // True if a hint may be logged now (and records that one is): one per kQuietMs.
    bool mayLog(std::uint64_t nowMs) noexcept;

    [[nodiscard]] std::size_t size() const noexcept { return size_; }

private:
    struct Candidate {
        std::uint64_t id = 0;
        std::uint64_t seenMs = 0; // the tick after its bytes
    };

    [[nodiscard]] Candidate &at(std::size_t i) noexcept { return ring_[(head_ + i) % kCapacity]; }

    std::array<Candidate, kCapacity> ring_{};
    std::size_t head_ = 0;
    std::size_t size_ = 0;
    std::size_t stamped_ = 0; // the first stamped_ candidates have their seenMs
    log::Throttle log_{ kQuietMs };
};

} // namespace pisock
